"""Bundled example problems (YAML), shipped as package data."""

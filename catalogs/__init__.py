"""Bundled hardware and model catalogs (YAML), shipped as package data."""

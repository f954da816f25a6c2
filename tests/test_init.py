"""The public API: __all__ is complete and every name in it exists."""

import archsearch


def test_all_names_exist_and_are_exported():
    for name in archsearch.__all__:
        assert hasattr(archsearch, name), name
    public = {n for n in dir(archsearch) if not n.startswith("_") and n[0].isupper() or n in ("solve", "load_problem",
                                                                                              "load_catalog")}
    assert public <= set(archsearch.__all__)

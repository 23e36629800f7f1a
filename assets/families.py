"""Which modules of this package are families: those that set ``FAMILY`` (infrastructure does not)."""

import importlib
import pkgutil

import assets as assets_package


def family_modules(exclude: tuple[str, ...] = ()) -> list:
    mods = []
    for info in sorted(pkgutil.iter_modules(assets_package.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name in exclude:
            continue
        mod = importlib.import_module(f"assets.{info.name}")
        if getattr(mod, "FAMILY", None):
            mods.append(mod)
    return mods

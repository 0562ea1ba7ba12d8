"""The engine's `world` (tests/engine/world.py) and the web tests' `site`
(tests/web/conftest.py), for hostile input that goes the whole way through them."""

from tests.engine.conftest import world
from tests.web.conftest import site

__all__ = ["site", "world"]

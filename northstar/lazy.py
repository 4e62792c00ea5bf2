"""sqlglot, imported when first used rather than when a module that may use it is.

Importing sqlglot costs ~0.15 s of CPU, a quarter of a build that changes nothing: most commands never parse or
generate SQL with it (lineage comes from its cache, relation names are plain). A module that uses sqlglot only inside
its functions imports these stand-ins, typed as the real modules for mypy:

    if TYPE_CHECKING:
        from sqlglot import exp
    else:
        from northstar.lazy import exp

The first attribute read (``exp.Table``) imports the module and every later read is the module's own.

>>> from northstar.lazy import exp
>>> exp.Table.__name__
'Table'
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _Lazy(ModuleType):
    """A module object that imports the real module named ``name`` on its first attribute read."""

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)  # later reads find the attributes without coming here
        return getattr(module, attribute)


sqlglot = _Lazy("sqlglot")
exp = _Lazy("sqlglot.expressions")
sqlglot_errors = _Lazy("sqlglot.errors")
optimizer_qualify = _Lazy("sqlglot.optimizer.qualify")
optimizer_scope = _Lazy("sqlglot.optimizer.scope")

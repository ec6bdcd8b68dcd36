"""Every architecture of every family, by transformers' class name (see __init__.py)."""
from typing import Dict

from .. import modeling
from ..modeling import Architecture
from . import catalog, distilbert, electra, mpnet, roberta

ARCHITECTURES: Dict[str, Architecture] = {
    a.name: a for a in (list(modeling.ARCHITECTURES.values()) + roberta.ARCHITECTURES
                        + distilbert.ARCHITECTURES + electra.ARCHITECTURES + mpnet.ARCHITECTURES)
}
assert set(ARCHITECTURES) == set(catalog.ARCHITECTURE_NAMES), "families/catalog.py lists others"
for _a in ARCHITECTURES.values():
    _f = catalog.FAMILIES[_a.model_type]
    assert _f.architectures[_a.name] == _a.task, _a.name
    assert (_a.forward_inputs == 3) == _f.token_types, _a.name

"""fairseq criterions of the plugin (registered on import)."""
from . import answer_cross_entropy  # noqa: F401
from . import attention_transfer  # noqa: F401

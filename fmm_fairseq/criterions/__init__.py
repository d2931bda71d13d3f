"""fairseq criterions of the plugin (registered on import)."""
from . import attention_transfer  # noqa: F401

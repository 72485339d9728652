"""The digest factories serve the digest command tests too."""
from tests.digest.conftest import rows, sender  # noqa: F401  (fixtures)

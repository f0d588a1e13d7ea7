"""Let nameko carry Kongtun's typed errors across RPC as themselves."""

from nameko.exceptions import deserialize_to_instance, registry

from .errors import Conflict, InvalidInput, NotFound, ServiceUnavailable

for _error in (InvalidInput, NotFound, Conflict, ServiceUnavailable):
    deserialize_to_instance(_error)

__all__ = ["registry"]

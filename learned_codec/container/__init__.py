"""The .lcf container: sections, CRCs, varints and header validation (format.py, varint.py).
Light to import (no torch), so the CLI can read and check a file before loading any model."""
from learned_codec.container.format import (
                                            MAGIC,
                                            VERSION,
                                            ContainerError,
                                            Meta,
                                            check_binding,
                                            frame_names,
                                            pack,
                                            read_bytes,
                                            safe_name,
                                            unpack,
                                            with_extra,
)
from learned_codec.container.varint import read_uvarint, write_uvarint

__all__ = ["MAGIC", "VERSION", "ContainerError", "Meta", "check_binding", "pack", "read_bytes", "unpack",
           "frame_names", "safe_name", "with_extra",
           "read_uvarint", "write_uvarint"]

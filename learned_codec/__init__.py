"""learned-codec: learned image and video compression of small frames.

The data's way through the package:
    data_tools (frames) -> models (autoencoders) -> quantizers -> container
    (.lcf files) -> metrics -> evaluate (report).
Native kernels live in learned_codec._C and are used through learned_codec.ops.
"""
__version__ = "0.1.0"

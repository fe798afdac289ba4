"""learned-codec: learned image and video compression of small frames.

The data's way through the package, one folder per stage:
    data_tools (frames) -> models (autoencoders) -> quant (latents to integers and bytes)
    -> container (.lcf files) -> codecs (one registry by container mode) -> eval
    (metrics, harness, report); palette/ holds the palette model whole, training/ the loop.
Native kernels live in learned_codec._C and are used through learned_codec.ops.
"""
__version__ = "0.1.0"

"""Codecs: everything that turns frames into bytes and back, behind one interface.

    base.py       the Codec interface (encode(frames) -> bytes, decode(bytes) -> frames)
    registry.py   ONE table from a container mode to its codec; open_codec, codec_for_file,
                  check_model_for_file (does a model belong to a file?), make_video_codec
    learned.py    LearnedCodec: a trained autoencoder + a latent quantizer + the container
    video.py      the learned video modes (latent-delta, entropy-delta)
    baselines.py  classic codecs (Pillow JPEG/WebP/AVIF/PNG, ffmpeg H.264/AV1)
The palette codec lives with its model in learned_codec.palette. Importing this package
is light: torch is loaded when a codec is built.
"""
from learned_codec.codecs.registry import (
                                           MODES,
                                           check_model_for_file,
                                           codec_for_file,
                                           load_codecs,
                                           make_video_codec,
                                           open_codec,
                                           parse_codec_spec,
)

__all__ = ["MODES", "check_model_for_file", "codec_for_file", "load_codecs", "make_video_codec",
           "open_codec", "parse_codec_spec"]

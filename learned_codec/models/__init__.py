"""The model zoo: autoencoders fc, fc-deep, conv4, conv5, vae, factorized, hyperprior (see
registry.py for the interface; each family is imported when its name is first built), and
the registry entry of the palette model of emulator frames (learned_codec/palette/model.py).
Model files on disk: checkpoint.py (weights + config), identity.py (which model, without torch).

Images enter and leave the models as float N x 3 x H x W in [0, 1]; frames on disk
are uint8 N x H x W x 3. `frames_to_tensor` / `tensor_to_frames` convert between the
two by transposing HWC -> CHW (the reference reshaped instead, scrambling channels).
"""
from learned_codec.models.registry import (
    ARCHS,
    arch_names,
    build_model,
    count_parameters,
    default_config,
    model_config,
)


def __getattr__(name):
    # frames_to_tensor / tensor_to_frames need torch: loaded on first use, so that
    # `import learned_codec.models.identity` (the CLI's checks) stays torch-free.
    if name in ("frames_to_tensor", "tensor_to_frames"):
        from learned_codec.models import tensors

        return getattr(tensors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ARCHS",
    "arch_names",
    "build_model",
    "count_parameters",
    "default_config",
    "model_config",
    "frames_to_tensor",
    "tensor_to_frames",
]

"""Which torch device a run uses: "auto" (CUDA when available), "cpu", "cuda" or "cuda:N"."""
from learned_codec.errors import UserError


def resolve_device(name=None):
    """torch.device for a --device value; UserError for an unknown name or a missing GPU."""
    import torch

    name = "auto" if name is None else str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not (name == "cuda" or name.startswith("cuda:") and name[5:].isdigit()):
        raise UserError(f"unknown device {name!r}; choose auto, cpu, cuda or cuda:N")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name}: no CUDA device is available here")
    return torch.device(name)

"""Frames on disk (uint8 N x H x W x 3) <-> model tensors (float N x 3 x H x W in [0, 1])."""
import torch


def frames_to_tensor(frames, device=None):
    """uint8 N x H x W x 3 (numpy or tensor) -> float32 N x 3 x H x W in [0, 1]."""
    t = torch.as_tensor(frames)
    if device is not None:
        t = t.to(device, non_blocking=True)
    return t.permute(0, 3, 1, 2).float().div_(255.0)


def tensor_to_frames(x):
    """float N x 3 x H x W in [0, 1] -> uint8 numpy N x H x W x 3 (rounded, clamped)."""
    x = x.detach().float().clamp(0, 1).mul(255.0).round_().to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()

"""The palette model of emulator frames, in one place, coded losslessly.

    resample.py   Pillow-exact Lanczos resize and its inversion to the palette screen
    tables.py     counted context tables with hierarchical smoothing
    model.py      the model's tensors (palette, backgrounds, tables) as an nn.Module
    fit.py        fitting a model on a frame data set (`learned-codec train --arch palette`)
    codec.py      PaletteCodec: the .lcf mode "palette" (image and video)
"""

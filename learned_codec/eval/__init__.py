"""Evaluation: metrics (one PSNR, one SSIM), the rate-distortion harness, BD-rates, plots and
the Markdown report.

    metrics.py    PSNR (inf for exact frames), SSIM, bpp, the reference's ratio, BD-rate maths
    harness.py    run every codec on the same frames and write the report files
    rd.py         curves per codec family, BD-rates, bytes at a target PSNR
    plots.py      RD curves and the crops strip
    report.py     report.md: summary, targets, BD-rates, the reference report's table
"""

"""Classification metrics and the impacted-class / impacted-image (CIE) analysis.

The CIE analysis is the single-model pipeline of the reference paper
(model-compression-class-impact-paper.txt, section IX.vii), step by step:

1. the model accuracy A (top-1 over all test images) and every class accuracy a_c
   (the fraction of class c's test images classified as c);
2. the standard deviation sigma of the class accuracies is the "significant class"
   boundary;
3. x = {c : |a_c - A| > sigma}: the classes whose deviation from the model
   accuracy exceeds the boundary in absolute value;
4. (the idea: these classes should stay beyond the boundary after compression);
5. the same process on the compressed model (its own A', a'_c and sigma') gives y;
6. impacted classes = (x - y) | (y - x): left the set, or entered it;
7. impacted images = sum over every class of |d_c - d'_c| x n_c, with d_c = a_c - A the
   class's deviation from the model accuracy before and d'_c = a'_c - A' after
   ("class A deviates 3 % before and 1 % after: 2 % of the class's images").

Choices the paper's text leaves open, made here and stated in every report:
- sigma is the population standard deviation (numpy's default, ddof=0) of the class
  accuracies; the paper quotes it in percent (7.79 / 7.49), we keep fractions;
- step 5's "same process" recomputes sigma' on the compressed model
  (boundary="recomputed"; the paper discusses the before/after standard deviations);
  boundary="original" keeps the uncompressed model's sigma for both sets;
- deviations are signed (a class moving from -3 % to +1 % moves 4 %), and step 7 sums
  over every class, not only the impacted ones: the paper's float16 row has 0
  impacted classes but 2 impacted images, which only an all-class sum gives;
- "larger than" is strict, with a 1e-12 tolerance so that float rounding never decides
  a tie;
- impacted images are reported as the exact (fractional) sum and rounded to an integer.
"""
import numpy as np

BOUNDARIES = ("recomputed", "original")


def confusion_matrix(labels, predictions, n_classes):
    """int64 n_classes x n_classes: row = true class, column = predicted class."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    predictions = np.asarray(predictions, dtype=np.int64).reshape(-1)
    if labels.shape != predictions.shape:
        raise ValueError(f"{labels.size} labels but {predictions.size} predictions")
    if labels.size and (min(labels.min(), predictions.min()) < 0
                        or max(labels.max(), predictions.max()) >= n_classes):
        raise ValueError(f"labels/predictions outside 0..{n_classes - 1}")
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (labels, predictions), 1)
    return cm


def classification_metrics(labels, predictions, n_classes, class_names=None):
    """Top-1, micro precision/recall/F1 and per-class precision/recall/F1/accuracy.

    Single-label multi-class: every image gives exactly one prediction, so micro
    precision = micro recall = micro F1 = top-1 (the paper's tables show the same
    numbers); they are computed from the confusion matrix all the same, so a
    change in how predictions are counted would show. A class's accuracy is its
    recall (its images classified correctly / its images)."""
    cm = confusion_matrix(labels, predictions, n_classes)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    total = cm.sum()
    micro_p = tp.sum() / max(predicted.sum(), 1)
    micro_r = tp.sum() / max(support.sum(), 1)
    micro_f1 = 2 * micro_p * micro_r / (micro_p + micro_r) if micro_p + micro_r else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
        recall = np.where(support > 0, tp / np.maximum(support, 1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    names = list(class_names) if class_names is not None else [str(i) for i in range(n_classes)]
    return {
        "images": int(total),
        "top1": float(tp.sum() / max(total, 1)),
        "micro_precision": float(micro_p),
        "micro_recall": float(micro_r),
        "micro_f1": float(micro_f1),
        "class_names": names,
        "class_support": support.tolist(),
        "class_accuracy": recall.tolist(),
        "class_precision": precision.tolist(),
        "class_recall": recall.tolist(),
        "class_f1": f1.tolist(),
        "confusion_matrix": cm.tolist(),
    }


# "Larger than" is strict; a class exactly on the boundary (two balanced classes always
# are) must not flip on the last bit of a float subtraction.
TIE_TOLERANCE = 1e-12


def significant_classes(model_accuracy, class_accuracy, boundary):
    """Indices of the classes with |a_c - A| > boundary (steps 3 and 5)."""
    deviation = np.asarray(class_accuracy, dtype=np.float64) - float(model_accuracy)
    return {int(c) for c in np.flatnonzero(np.abs(deviation) > boundary + TIE_TOLERANCE)}


def cie_analysis(before, after, boundary="recomputed"):
    """The paper's CIE analysis between two classification_metrics() results.

    before/after: dicts with "top1" (model accuracy A), "class_accuracy" (a_c, fractions)
    and "class_support" (n_c, images per class; the same test set before and after).
    Returns a JSON-able dict: sigma before/after, the sets x and y, the impacted
    classes (indices and names), impacted images (exact sum and rounded) and the
    per-class deviations and image counts."""
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {BOUNDARIES}, not {boundary!r}")
    a = np.asarray(before["class_accuracy"], dtype=np.float64)
    a2 = np.asarray(after["class_accuracy"], dtype=np.float64)
    n = np.asarray(before["class_support"], dtype=np.float64)
    if a.shape != a2.shape or a.shape != n.shape:
        raise ValueError("before and after must describe the same classes")
    if list(after.get("class_support", before["class_support"])) != list(before["class_support"]):
        raise ValueError("before and after were measured on different test sets (class supports differ)")
    acc, acc2 = float(before["top1"]), float(after["top1"])
    sigma = float(np.std(a))                     # step 2 (population std, ddof=0)
    sigma2 = float(np.std(a2)) if boundary == "recomputed" else sigma
    x = significant_classes(acc, a, sigma)       # step 3
    y = significant_classes(acc2, a2, sigma2)    # step 5
    impacted = sorted((x - y) | (y - x))         # step 6
    d, d2 = a - acc, a2 - acc2
    images_per_class = np.abs(d - d2) * n        # step 7
    names = before.get("class_names") or [str(i) for i in range(len(a))]
    return {
        "boundary": boundary,
        "sigma_before": sigma,
        "sigma_after": float(np.std(a2)),
        "boundary_after": sigma2,
        "significant_before": sorted(x),
        "significant_after": sorted(y),
        "impacted_classes": impacted,
        "impacted_class_names": [names[c] for c in impacted],
        "n_impacted_classes": len(impacted),
        "impacted_images_exact": float(images_per_class.sum()),
        "impacted_images": int(round(float(images_per_class.sum()))),
        "deviation_before": d.tolist(),
        "deviation_after": d2.tolist(),
        "impacted_images_per_class": images_per_class.tolist(),
    }


__all__ = ["confusion_matrix", "classification_metrics", "significant_classes", "cie_analysis",
           "BOUNDARIES"]

"""Downstream classifiers under compression (`learned-codec classify`).

    model.py        NotebookCNN, HelmholtzCNN (six settings), MultiQualityClassifier, build_classifier
    data.py         load_classification_data, to_model_input (padding + normalisation)
    run.py          save_classifier_run / load_classifier_run (config.json + model.safetensors)
    train.py        train_classifier, predict, evaluate, time_to_accuracy
    pipeline.py     splits and one train + test, shared by the experiments
    blockwise.py    block-by-block training (head first, lr / 10 per unfrozen block) with cached bottlenecks
    compressed.py   compressed data sets (Pillow JPEG/WebP, jpeg_simulate, a learned codec) with bytes
    experiments.py  experiments 1-3 and the notebook-collapse study, their CLI parsers
    plots.py        PNG plots of the results

Nothing here is imported by `import learned_codec.classify` (torch stays unloaded until used).
"""

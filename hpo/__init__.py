"""lung-hpo: Optuna studies that tune a Keras lung-segmentation U-Net on chest X-rays."""

__version__ = "0.1.0"

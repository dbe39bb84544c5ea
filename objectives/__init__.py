"""Data, augmentation, U-Net, metrics and the training objective of lung-hpo."""

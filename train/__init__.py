"""Training of the built-in Fashion-MNIST models (``python -m train [--arch mlp|cnn]``).

Submodules: ``train.data`` (loading, numpy only), ``train.model`` (the Keras models),
``train.training`` (the ``train()`` entry point and per-architecture defaults). Importing
this package does not import TensorFlow or Keras.
"""

"""Training of the Fashion-MNIST MLP (``python -m train``).

Submodules: ``train.data`` (loading, numpy only), ``train.model`` (Keras model),
``train.training`` (the ``train()`` entry point). Importing this package does
not import TensorFlow or Keras.
"""

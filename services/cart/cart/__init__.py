"""The sample shopping-cart service shipped by the gantry pipeline."""

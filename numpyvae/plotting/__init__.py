"""Figures: drawing helpers (:mod:`.draw`) and the figures of a trained model (:mod:`.model_figures`)."""
from .draw import (tile_images, latent_grid, image_grid, reconstruction_grid, manifold_grid, latent_scatter, training_curves, training_curve_panels)

__all__ = ['tile_images', 'latent_grid', 'image_grid', 'reconstruction_grid', 'manifold_grid', 'latent_scatter', 'training_curves', 'training_curve_panels']

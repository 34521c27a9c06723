"""Row-wise cached sampling for the convolutional models (Ramachandran et al. 2017).

Every layer's output at row r depends only on its input rows <= r, so while
row i is being sampled all rows above are final. A cache keeps, per layer,
the input rows that the next rows will read:

* :class:`~wavekit.image.gated_pixelcnn.GatedRowCache` (Gated PixelCNN): the vertical stack runs *once per
  row* (row i-1 of every layer, when row i starts), and its projected,
  down-shifted features for row i are kept; each sub-pixel then runs only the
  horizontal stack on the 1 x W current row.
* :class:`~wavekit.image.pixelcnn.PixelCNNRowCache` (PixelCNN): each layer's k x k input rows are kept;
  a sub-pixel recomputes only row i through the stack from the cached rows above.
* :class:`~wavekit.image.pixelcnnpp.PixelCNNPlusPlusRowCache` (PixelCNN++): one cache per resolution of
  the U-Net; the ``u`` (rows above) stream runs once per row at full
  resolution, once per 2 rows at 1/2 and once per 4 rows at 1/4; the ``ul``
  stream runs per pixel on the current row only, at 1/2 and 1/4 resolution only
  on the fine rows and columns that reach them (every 2nd / 4th).

Naive sampling runs the whole H x W network per sub-pixel; every cache
returns the same parameters (up to float rounding), so with the same seed
they draw the same images. All are used through the stepper interface of
:mod:`wavekit.image.base` (``start_row``, ``params_at``).

Each cache lives beside its model (the model's ``make_stepper`` builds it);
this module holds the idea and the row helper they share.
"""

from __future__ import annotations

from torch import Tensor


def rows_upto(buf: Tensor, r: int, above: int) -> Tensor:
    """Rows r-above..r of buf (B, C, H, W) (fewer at the top of the image)."""
    return buf[:, :, max(0, r - above) : r + 1]

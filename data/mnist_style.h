#pragma once
/// A user's own digit prepared as MNIST's were (LeCun et al.): ink fitted into a
/// 20x20 box with anti-aliasing, centred by its centre of mass in 28x28, white
/// ink on black, then normalised as the examples train.
#include <string>

#include "ember/core/options.h"
#include "ember/core/tensor.h"

namespace ember::data {

/// Options of mnist_style.
struct MnistStyleOptions {
  /// Subtract mean and divide by std at the end (the examples' Normalize(0.1307, 0.3081));
  /// with false the result stays in [0, 1], as the net "sees" it before normalising.
  EMBER_OPTION(MnistStyleOptions, bool, normalize, true)
  EMBER_OPTION(MnistStyleOptions, double, mean, 0.1307)
  EMBER_OPTION(MnistStyleOptions, double, std, 0.3081)
  /// The side of the box the ink's longer side is scaled to, and of the output.
  EMBER_OPTION(MnistStyleOptions, std::int64_t, box, 20)
  EMBER_OPTION(MnistStyleOptions, std::int64_t, size, 28)
  /// Strokes thinner than this (in output pixels, after scaling) are widened in the
  /// source first, so a thin pen on a large canvas does not fade to a faint trace.
  /// MNIST's strokes are about 2.5 px wide; 0 turns the widening off.
  EMBER_OPTION(MnistStyleOptions, double, min_stroke, 2.0)
  /// Names the image in errors ("mnist_style: digit.png: no ink found").
  EMBER_OPTION(MnistStyleOptions, std::string, name, "image")
};

/// `image`: [C, H, W] (C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) or [H, W]; uint8 in
/// 0..255 or floating in [0, 1]. Returns float32 [1, size, size]. Steps: gray (alpha
/// over white); uneven light (a gradient, a vignette) divided out by a smooth surface
/// fitted to the paper; polarity from the border's median (a light background is inverted);
/// background noise below a threshold set by the border's spread is removed and
/// specks far smaller than the drawing dropped, anti-aliasing above it kept; crop
/// to the ink's bounding box; scale the longer side to `box` by area averaging;
/// paste so the centre of mass is at the centre. Throws "no ink found" for a blank image.
/// The work after the crop is bounded by the output's size whatever the image's
/// shape (a patch longer than 32 box sides is max-pooled first).
Tensor mnist_style(const Tensor& image, const MnistStyleOptions& options = {});

/// The naive way, for comparison: gray, inverted if the border is light, the whole
/// image resized (area averaging, aspect ignored) to [1, size, size] and normalised.
Tensor naive_resize(const Tensor& image, const MnistStyleOptions& options = {});

}  // namespace ember::data

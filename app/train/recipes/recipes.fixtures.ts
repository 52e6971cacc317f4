/**
 * Test images shared by the recipe target tests, made by the same integer formulas as
 * `references.py` (which gives their expected values with scikit-image and SciPy).
 */

/** [1, 2, 32, 32]: integer texture; channel 1 has a flat top-left patch. */
export function hogTestImage(): Float32Array {
  const image = new Float32Array(2 * 32 * 32);
  for (let c = 0; c < 2; c++) {
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        let value = ((y * 7 + x * 13 + c * 5) * 37 + ((x * y) % 11) * 17) % 97;
        if (c === 1 && x < 16 && y < 16) value = 50;
        image[(c * 32 + y) * 32 + x] = value;
      }
    }
  }
  return image;
}

/** [1, 1, 7, 9]: integer values with a sharp edge at x = 5. */
export function blurTestImage(): Float32Array {
  const image = new Float32Array(7 * 9);
  for (let y = 0; y < 7; y++) {
    for (let x = 0; x < 9; x++) image[y * 9 + x] = ((x * 11 + y * 3) % 17) + (x >= 5 ? 40 : 0);
  }
  return image;
}

#ifndef TOFU_AVIF_SHIM_H
#define TOFU_AVIF_SHIM_H

#include <stddef.h>
#include <stdint.h>

#define TOFU_AVIF_AOM 0
#define TOFU_AVIF_RAV1E 1

/* Encodes width x height pixels of `channels` (3: RGB, 4: RGBA) 8-bit samples, rows packed, as
 * one AVIF still image at a fixed `quantizer` (0..63) and libavif `speed` (0..10). On success
 * returns 0 and *out, *out_len hold the file (free it with tofu_avif_free); else -1 and a
 * NUL-terminated reason in `message`. */
int tofu_avif_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels,
                     int quantizer, int speed, int codec, int yuv444, uint8_t **out,
                     size_t *out_len, char *message, size_t message_len);

void tofu_avif_free(uint8_t *data, size_t len);

/* Decodes an AVIF file to packed 8-bit RGBA (rows of width * 4 bytes; free with
 * tofu_avif_free_pixels). For tests and benchmarks: the module never decodes AVIF. Returns 0, or
 * -1 and a reason in `message`. */
int tofu_avif_decode(const uint8_t *data, size_t len, uint8_t **rgba, uint32_t *width,
                     uint32_t *height, char *message, size_t message_len);

void tofu_avif_free_pixels(uint8_t *rgba);

#endif

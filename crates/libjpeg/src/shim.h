/* The C side of src/transform/libjpeg/shim.rs; every function returns 0 or -1 (message kept). */
#ifndef TOFU_JPEG_SHIM_H
#define TOFU_JPEG_SHIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct tofu_jpeg tofu_jpeg;

typedef struct {
  uint32_t width;
  uint32_t height;
  int32_t components;
  int32_t color_space; /* J_COLOR_SPACE of the file */
  int32_t progressive;
} tofu_jpeg_header;

typedef struct {
  uint32_t width;
  uint32_t height;
  int32_t channels;   /* of the output pixels */
  int32_t components; /* in the file */
  int32_t component_id[4];
  int32_t idct_size[4]; /* each component's scaled IDCT: N×N samples per 8×8 block */
} tofu_jpeg_scaled;

#define TOFU_ENCODE_PROGRESSIVE 1
#define TOFU_ENCODE_OPTIMIZE 2

tofu_jpeg *tofu_jpeg_new(void);
void tofu_jpeg_free(tofu_jpeg *j);
const char *tofu_jpeg_message(const tofu_jpeg *j);
long tofu_jpeg_warnings(const tofu_jpeg *j);
int tofu_jpeg_read_header(tofu_jpeg *j, const uint8_t *data, size_t len, tofu_jpeg_header *out);
int tofu_jpeg_scale(tofu_jpeg *j, int denom, int32_t out_space, tofu_jpeg_scaled *out);
int tofu_jpeg_start(tofu_jpeg *j, const size_t *skips, size_t nskips, uint32_t *x,
                    uint32_t *width);
int tofu_jpeg_read(tofu_jpeg *j, uint32_t skip_rows, uint32_t rows, uint8_t *out, size_t stride);
int tofu_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, size_t stride,
                     int32_t in_space, int32_t quality, int32_t flags, size_t max_out,
                     uint8_t **out, size_t *out_len, char *message, size_t message_len);
void tofu_jpeg_free_buffer(uint8_t *buffer);

#endif

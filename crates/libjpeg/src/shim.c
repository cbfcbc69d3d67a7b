/*
 * A small C layer over libjpeg's own API (Debian's libjpeg62-turbo), called from shim.rs.
 *
 * Why C: libjpeg reports fatal errors by calling error_exit, which must not return; the only
 * sane way out is longjmp back to a setjmp in the caller's C frame. Every entry point here does
 * its setjmp and turns an error into a return code, so no longjmp ever crosses a Rust frame.
 *
 * Why not TurboJPEG: it cannot turn off block smoothing, crop rows and columns before the IDCT,
 * or leave out the scans of a progressive file that a scaled decode never reads, which is where
 * the time of a thumbnail goes.
 *
 * What it adds to libjpeg:
 *  - a memory source that jumps over byte ranges ("skips"): the progressive scans whose
 *    coefficients the scaled IDCT never reads (chosen by the Rust side);
 *  - warnings counted, never fatal (a truncated file still decodes, grey where data is missing);
 *  - decode of a window (rows and iMCU-aligned columns) at 1/1, 1/2, 1/4 or 1/8 scale;
 *  - encode to memory, into a buffer of its own that may not grow past a limit.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "shim.h"

struct tofu_error {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

struct tofu_source {
  struct jpeg_source_mgr pub;
  const uint8_t *data;
  size_t len;
  /* [start, end) byte ranges to jump over, sorted, not overlapping. */
  size_t *skips;
  size_t nskips;
  size_t next_skip;
  /* Offset just past the bytes served so far. */
  size_t served_end;
};

struct tofu_jpeg {
  struct jpeg_decompress_struct cinfo;
  struct tofu_error err;
  struct tofu_source src;
  int created;
};

static void on_error(j_common_ptr cinfo) {
  struct tofu_error *err = (struct tofu_error *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

/* Warnings (and trace messages) are counted by libjpeg itself (num_warnings) and never printed:
 * inside httpd, stderr is the error log. */
static void on_message(j_common_ptr cinfo, int level) {
  if (level < 0) cinfo->err->num_warnings++;
}

static const JOCTET fake_eoi[2] = {0xFF, JPEG_EOI};

static void src_init(j_decompress_ptr cinfo) { (void)cinfo; }

/* Serves the bytes up to the next skip (or the end), jumping over skips that start here. */
static boolean src_fill(j_decompress_ptr cinfo) {
  struct tofu_source *src = (struct tofu_source *)cinfo->src;
  size_t pos = src->served_end;
  while (src->next_skip < src->nskips && src->skips[2 * src->next_skip] <= pos) {
    size_t end = src->skips[2 * src->next_skip + 1];
    if (end > pos) pos = end;
    src->next_skip++;
  }
  if (pos >= src->len) {
    WARNMS(cinfo, JWRN_JPEG_EOF);
    src->pub.next_input_byte = fake_eoi;
    src->pub.bytes_in_buffer = 2;
    return TRUE;
  }
  size_t end = src->len;
  if (src->next_skip < src->nskips && src->skips[2 * src->next_skip] < end)
    end = src->skips[2 * src->next_skip];
  src->pub.next_input_byte = src->data + pos;
  src->pub.bytes_in_buffer = end - pos;
  src->served_end = end;
  return TRUE;
}

static void src_skip(j_decompress_ptr cinfo, long num_bytes) {
  struct jpeg_source_mgr *src = cinfo->src;
  if (num_bytes <= 0) return;
  while ((size_t)num_bytes > src->bytes_in_buffer) {
    num_bytes -= (long)src->bytes_in_buffer;
    src->next_input_byte += src->bytes_in_buffer;
    src->bytes_in_buffer = 0;
    (void)(*src->fill_input_buffer)(cinfo);
  }
  src->next_input_byte += (size_t)num_bytes;
  src->bytes_in_buffer -= (size_t)num_bytes;
}

static void src_term(j_decompress_ptr cinfo) { (void)cinfo; }

tofu_jpeg *tofu_jpeg_new(void) {
  tofu_jpeg *volatile j = calloc(1, sizeof(tofu_jpeg));
  if (!j) return NULL;
  j->cinfo.err = jpeg_std_error(&j->err.pub);
  j->err.pub.error_exit = on_error;
  j->err.pub.emit_message = on_message;
  if (setjmp(j->err.jump)) {
    free(j);
    return NULL;
  }
  jpeg_create_decompress(&j->cinfo);
  j->created = 1;
  return j;
}

void tofu_jpeg_free(tofu_jpeg *j) {
  if (!j) return;
  if (j->created) jpeg_destroy_decompress(&j->cinfo);
  free(j->src.skips);
  free(j);
}

const char *tofu_jpeg_message(const tofu_jpeg *j) { return j->err.message; }

long tofu_jpeg_warnings(const tofu_jpeg *j) { return j->err.pub.num_warnings; }

int tofu_jpeg_read_header(tofu_jpeg *j, const uint8_t *data, size_t len,
                          tofu_jpeg_header *out) {
  j_decompress_ptr cinfo = &j->cinfo;
  if (setjmp(j->err.jump)) return -1;
  j->src.pub.init_source = src_init;
  j->src.pub.fill_input_buffer = src_fill;
  j->src.pub.skip_input_data = src_skip;
  j->src.pub.resync_to_restart = jpeg_resync_to_restart;
  j->src.pub.term_source = src_term;
  j->src.pub.next_input_byte = data;
  j->src.pub.bytes_in_buffer = len;
  j->src.data = data;
  j->src.len = len;
  j->src.served_end = len;
  cinfo->src = &j->src.pub;
  if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK) {
    snprintf(j->err.message, sizeof j->err.message, "no image in the JPEG stream");
    return -1;
  }
  out->width = cinfo->image_width;
  out->height = cinfo->image_height;
  out->components = cinfo->num_components;
  out->color_space = (int32_t)cinfo->jpeg_color_space;
  out->progressive = cinfo->progressive_mode ? 1 : 0;
  return 0;
}

int tofu_jpeg_scale(tofu_jpeg *j, int denom, int32_t out_space, tofu_jpeg_scaled *out) {
  j_decompress_ptr cinfo = &j->cinfo;
  if (setjmp(j->err.jump)) return -1;
  cinfo->scale_num = 1;
  cinfo->scale_denom = (unsigned int)denom;
  cinfo->out_color_space = (J_COLOR_SPACE)out_space;
  /* Smoothing would invent the AC terms of skipped scans (and of a truncated file's missing
   * ones); the scaled IDCTs then read them and the output would depend on what was skipped. */
  cinfo->do_block_smoothing = FALSE;
  cinfo->dct_method = JDCT_ISLOW;
  jpeg_calc_output_dimensions(cinfo);
  out->width = cinfo->output_width;
  out->height = cinfo->output_height;
  out->channels = cinfo->output_components;
  out->components = cinfo->num_components;
  for (int i = 0; i < 4; i++) {
    out->component_id[i] = -1;
    out->idct_size[i] = 0;
  }
  for (int i = 0; i < cinfo->num_components && i < 4; i++) {
    out->component_id[i] = cinfo->comp_info[i].component_id;
    out->idct_size[i] = cinfo->comp_info[i].DCT_scaled_size;
  }
  return 0;
}

int tofu_jpeg_start(tofu_jpeg *j, const size_t *skips, size_t nskips, uint32_t *x,
                    uint32_t *width) {
  j_decompress_ptr cinfo = &j->cinfo;
  if (setjmp(j->err.jump)) return -1;
  if (nskips > 0) {
    j->src.skips = malloc(nskips * 2 * sizeof(size_t));
    if (!j->src.skips) {
      snprintf(j->err.message, sizeof j->err.message, "out of memory");
      return -1;
    }
    memcpy(j->src.skips, skips, nskips * 2 * sizeof(size_t));
    j->src.nskips = nskips;
    j->src.next_skip = 0;
    /* The header has been read up to the first scan; serve only up to the first skip now. */
    if (j->src.served_end == j->src.len) {
      size_t pos = j->src.len - j->src.pub.bytes_in_buffer;
      while (j->src.next_skip < nskips && skips[2 * j->src.next_skip] < pos)
        j->src.next_skip++;
      if (j->src.next_skip < nskips) {
        size_t end = skips[2 * j->src.next_skip];
        j->src.pub.bytes_in_buffer = end - pos;
        j->src.served_end = end;
      }
    }
  }
  if (!jpeg_start_decompress(cinfo)) {
    snprintf(j->err.message, sizeof j->err.message, "decompression suspended");
    return -1;
  }
  JDIMENSION xoff = *x, w = *width;
  if (xoff != 0 || w != cinfo->output_width) {
    jpeg_crop_scanline(cinfo, &xoff, &w);
  }
  *x = xoff;
  *width = w;
  return 0;
}

static int read_rows(tofu_jpeg *j, uint32_t skip_rows, uint32_t rows, uint8_t *out,
                     size_t stride) {
  j_decompress_ptr cinfo = &j->cinfo;
  while (skip_rows > 0) {
    JDIMENSION n = jpeg_skip_scanlines(cinfo, skip_rows);
    if (n == 0) break;
    skip_rows -= n;
  }
  uint32_t done = 0;
  JSAMPROW ptrs[16];
  while (done < rows) {
    uint32_t want = rows - done;
    if (want > 16) want = 16;
    for (uint32_t i = 0; i < want; i++) ptrs[i] = out + (size_t)(done + i) * stride;
    JDIMENSION got = jpeg_read_scanlines(cinfo, ptrs, want);
    if (got == 0) break;
    done += got;
  }
  if (done < rows) {
    snprintf(j->err.message, sizeof j->err.message, "fewer rows than announced");
    return -1;
  }
  /* The rest (rows below the window, trailing markers) is never decoded. */
  jpeg_abort_decompress(cinfo);
  return 0;
}

int tofu_jpeg_read(tofu_jpeg *j, uint32_t skip_rows, uint32_t rows, uint8_t *out,
                   size_t stride) {
  if (setjmp(j->err.jump)) return -1;
  return read_rows(j, skip_rows, rows, out, stride);
}

/*
 * The encoder's memory destination. libjpeg's own jpeg_mem_dest frees its first buffer when it
 * grows while the caller's pointer still points at it, so an error after the first 4 KiB (a
 * failed malloc) freed that buffer twice. Here one field owns the one live buffer: realloc
 * replaces it, the error path frees it once, and the output may not grow beyond `max`.
 */
struct tofu_dest {
  struct jpeg_destination_mgr pub;
  uint8_t *buffer;
  size_t size;
  size_t max;
};

static void dest_init(j_compress_ptr cinfo) { (void)cinfo; }

static boolean dest_grow(j_compress_ptr cinfo) {
  struct tofu_dest *d = (struct tofu_dest *)cinfo->dest;
  size_t grown = d->size * 2;
  uint8_t *bigger;
  if (grown > d->max) grown = d->max;
  if (grown <= d->size) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 40);
  bigger = realloc(d->buffer, grown);
  if (!bigger) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 41);
  d->buffer = bigger;
  d->pub.next_output_byte = bigger + d->size;
  d->pub.free_in_buffer = grown - d->size;
  d->size = grown;
  return TRUE;
}

static void dest_term(j_compress_ptr cinfo) { (void)cinfo; }

int tofu_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, size_t stride,
                     int32_t in_space, int32_t quality, int32_t flags, size_t max_out,
                     uint8_t **out, size_t *out_len, char *message, size_t message_len) {
  struct jpeg_compress_struct cinfo;
  struct tofu_error err;
  struct tofu_dest dest;
  volatile int created = 0;
  *out = NULL;
  *out_len = 0;
  memset(&dest, 0, sizeof dest);
  dest.size = max_out < 65536 ? max_out : 65536;
  dest.max = max_out;
  dest.buffer = dest.size ? malloc(dest.size) : NULL;
  if (!dest.buffer) {
    snprintf(message, message_len, "cannot allocate the output buffer");
    return -1;
  }
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  if (setjmp(err.jump)) {
    snprintf(message, message_len, "%s", err.message);
    if (created) jpeg_destroy_compress(&cinfo);
    free(dest.buffer);
    return -1;
  }
  jpeg_create_compress(&cinfo);
  created = 1;
  dest.pub.init_destination = dest_init;
  dest.pub.empty_output_buffer = dest_grow;
  dest.pub.term_destination = dest_term;
  dest.pub.next_output_byte = dest.buffer;
  dest.pub.free_in_buffer = dest.size;
  cinfo.dest = &dest.pub;
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.in_color_space = (J_COLOR_SPACE)in_space;
  cinfo.input_components =
      in_space == JCS_GRAYSCALE ? 1 : (in_space == JCS_CMYK ? 4 : 3);
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  /* 4:2:0 for colour (jpeg_set_defaults' choice, said here so it is not lost). */
  if (cinfo.jpeg_color_space == JCS_YCbCr) {
    cinfo.comp_info[0].h_samp_factor = 2;
    cinfo.comp_info[0].v_samp_factor = 2;
  }
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.optimize_coding = (flags & TOFU_ENCODE_OPTIMIZE) ? TRUE : FALSE;
  if (flags & TOFU_ENCODE_PROGRESSIVE) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  *out_len = dest.size - dest.pub.free_in_buffer;
  *out = dest.buffer;
  jpeg_destroy_compress(&cinfo);
  return 0;
}

void tofu_jpeg_free_buffer(uint8_t *buffer) { free(buffer); }

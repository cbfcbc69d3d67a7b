/* The part of mod_tofu's AVIF encoder that touches libavif's structs: libavif's API is a handful
 * of functions over plain structs whose layout differs between versions, so the fields are set
 * here, compiled against the installed header, and Rust sees one function. */
#include <avif/avif.h>
#include <stdio.h>
#include <string.h>

#include "shim.h"

int tofu_avif_encode(const uint8_t *pixels, uint32_t width, uint32_t height, uint32_t channels,
                     int quantizer, int speed, int codec, int yuv444, uint8_t **out,
                     size_t *out_len, char *message, size_t message_len)
{
    avifResult result = AVIF_RESULT_OK;
    avifEncoder *encoder = NULL;
    avifRWData output = AVIF_DATA_EMPTY;
    avifImage *image = avifImageCreate(width, height, 8,
                                       yuv444 ? AVIF_PIXEL_FORMAT_YUV444 : AVIF_PIXEL_FORMAT_YUV420);
    *out = NULL;
    *out_len = 0;
    if (image == NULL) {
        snprintf(message, message_len, "out of memory");
        return -1;
    }
    /* sRGB, said the CICP way (nclx): BT.709 primaries, the sRGB curve, BT.601 matrix, full
     * range; no ICC profile. */
    image->colorPrimaries = AVIF_COLOR_PRIMARIES_BT709;
    image->transferCharacteristics = AVIF_TRANSFER_CHARACTERISTICS_SRGB;
    image->matrixCoefficients = AVIF_MATRIX_COEFFICIENTS_BT601;
    image->yuvRange = AVIF_RANGE_FULL;

    avifRGBImage rgb;
    avifRGBImageSetDefaults(&rgb, image);
    rgb.format = channels == 4 ? AVIF_RGB_FORMAT_RGBA : AVIF_RGB_FORMAT_RGB;
    rgb.depth = 8;
    rgb.pixels = (uint8_t *)pixels; /* only read by avifImageRGBToYUV */
    rgb.rowBytes = width * channels;
    result = avifImageRGBToYUV(image, &rgb);
    if (result != AVIF_RESULT_OK) {
        goto done;
    }

    encoder = avifEncoderCreate();
    if (encoder == NULL) {
        result = AVIF_RESULT_OUT_OF_MEMORY;
        goto done;
    }
    encoder->codecChoice = codec == TOFU_AVIF_RAV1E ? AVIF_CODEC_CHOICE_RAV1E : AVIF_CODEC_CHOICE_AOM;
    /* One thread: the transform slot is one core, and the bytes must not depend on timing. */
    encoder->maxThreads = 1;
    encoder->speed = speed;
    encoder->minQuantizer = quantizer;
    encoder->maxQuantizer = quantizer;
    /* Alpha lossless, as the WebP encoder keeps it. */
    encoder->minQuantizerAlpha = AVIF_QUANTIZER_LOSSLESS;
    encoder->maxQuantizerAlpha = AVIF_QUANTIZER_LOSSLESS;
    result = avifEncoderWrite(encoder, image, &output);
    if (result == AVIF_RESULT_OK) {
        *out = output.data;
        *out_len = output.size;
    }

done:
    if (result != AVIF_RESULT_OK) {
        if (encoder != NULL && encoder->diag.error[0] != '\0') {
            snprintf(message, message_len, "%s: %s", avifResultToString(result), encoder->diag.error);
        } else {
            snprintf(message, message_len, "%s", avifResultToString(result));
        }
        avifRWDataFree(&output);
    }
    if (encoder != NULL) {
        avifEncoderDestroy(encoder);
    }
    avifImageDestroy(image);
    return result == AVIF_RESULT_OK ? 0 : -1;
}

void tofu_avif_free(uint8_t *data, size_t len)
{
    avifRWData output = {data, len};
    avifRWDataFree(&output);
}

int tofu_avif_decode(const uint8_t *data, size_t len, uint8_t **rgba, uint32_t *width,
                     uint32_t *height, char *message, size_t message_len)
{
    avifResult result;
    avifRGBImage rgb;
    avifImage *image = avifImageCreateEmpty();
    avifDecoder *decoder = avifDecoderCreate();
    *rgba = NULL;
    memset(&rgb, 0, sizeof(rgb));
    if (image == NULL || decoder == NULL) {
        result = AVIF_RESULT_OUT_OF_MEMORY;
        goto done;
    }
    decoder->maxThreads = 1;
    result = avifDecoderReadMemory(decoder, image, data, len);
    if (result != AVIF_RESULT_OK) {
        goto done;
    }
    avifRGBImageSetDefaults(&rgb, image);
    rgb.format = AVIF_RGB_FORMAT_RGBA;
    rgb.depth = 8;
    avifRGBImageAllocatePixels(&rgb);
    result = avifImageYUVToRGB(image, &rgb);
    if (result == AVIF_RESULT_OK) {
        *rgba = rgb.pixels; /* rgb.rowBytes == width * 4: allocated by libavif, packed */
        *width = rgb.width;
        *height = rgb.height;
        rgb.pixels = NULL;
    }

done:
    if (result != AVIF_RESULT_OK) {
        snprintf(message, message_len, "%s", avifResultToString(result));
    }
    if (rgb.pixels != NULL) {
        avifRGBImageFreePixels(&rgb);
    }
    if (decoder != NULL) {
        avifDecoderDestroy(decoder);
    }
    if (image != NULL) {
        avifImageDestroy(image);
    }
    return result == AVIF_RESULT_OK ? 0 : -1;
}

void tofu_avif_free_pixels(uint8_t *rgba)
{
    avifFree(rgba);
}

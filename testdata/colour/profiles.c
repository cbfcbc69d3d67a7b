/* Writes the RGB and grey ICC profiles of testdata/colour/ from their published primaries and
 * curves with Little CMS (liblcms2-dev): nothing copied from a vendor's file, so no licence but
 * the project's. Built and run by ./make. */
#include <lcms2.h>
#include <stdio.h>
#include <stdlib.h>

static void save(cmsHPROFILE p, const char *description, const char *path) {
    cmsMLU *mlu = cmsMLUalloc(NULL, 1);
    cmsMLUsetASCII(mlu, "en", "US", description);
    cmsWriteTag(p, cmsSigProfileDescriptionTag, mlu);
    cmsMLUsetASCII(mlu, "en", "US", "No copyright, use freely (made for mod_tofu's tests)");
    cmsWriteTag(p, cmsSigCopyrightTag, mlu);
    cmsMLUfree(mlu);
    cmsMD5computeID(p);
    if (!cmsSaveProfileToFile(p, path)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    cmsCloseProfile(p);
}

static cmsHPROFILE rgb(double rx, double ry, double gx, double gy, double bx, double by,
                       cmsToneCurve *curve) {
    cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
    cmsCIExyYTRIPLE primaries = {{rx, ry, 1.0}, {gx, gy, 1.0}, {bx, by, 1.0}};
    cmsToneCurve *curves[3] = {curve, curve, curve};
    return cmsCreateRGBProfile(&d65, &primaries, curves);
}

int main(void) {
    cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
    /* sRGB's curve (IEC 61966-2-1) as an ICC parametric curve of type 4. */
    double srgb_params[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045};
    cmsToneCurve *srgb_curve = cmsBuildParametricToneCurve(NULL, 4, srgb_params);
    cmsToneCurve *adobe_curve = cmsBuildGamma(NULL, 563.0 / 256.0);
    cmsToneCurve *gamma22 = cmsBuildGamma(NULL, 2.2);
    /* Display P3: DCI-P3 primaries, D65, sRGB's curve (what iPhones embed). */
    save(rgb(0.680, 0.320, 0.265, 0.690, 0.150, 0.060, srgb_curve),
         "Display P3 (from primaries)", "display-p3.icc");
    /* Adobe RGB (1998): its primaries, D65, gamma 563/256. */
    save(rgb(0.64, 0.33, 0.21, 0.71, 0.15, 0.06, adobe_curve),
         "Compatible with Adobe RGB (1998) (from primaries)", "adobe-rgb.icc");
    /* sRGB and a grey with sRGB's curve, for tagging sRGB sources and making the grey fixture. */
    save(rgb(0.64, 0.33, 0.30, 0.60, 0.15, 0.06, srgb_curve), "sRGB (from primaries)", "srgb.icc");
    save(cmsCreateGrayProfile(&d65, srgb_curve), "Grey, sRGB curve", "srgb-gray.icc");
    /* A grey of gamma 2.2, as Photoshop's "Gray Gamma 2.2" working space. */
    save(cmsCreateGrayProfile(&d65, gamma22), "Grey, gamma 2.2", "gray-gamma22.icc");
    return 0;
}

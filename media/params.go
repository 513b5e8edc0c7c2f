package media

import (
	"fmt"
	"regexp"
	"strings"
)

// Encoder parameter strings (-x264-params, -x264opts, -x265-params,
// -svtav1-params, -aom-params) are key=value lists that ffmpeg hands to the
// encoder library. dswarm accepts only keys known not to read or write
// files, spelled as the library would normalise them, and no quotes or
// backslashes: then the split at ':' and '=' that dswarm checks is the one
// both ffmpeg's dictionary parser and the x264opts scanner make.

// paramsValue is what a key's value may hold: numbers, words, lists and the
// brackets of x265/SVT master-display strings; never a quote or backslash.
var paramsValue = regexp.MustCompile(`^[A-Za-z0-9_.,+\-/()=]*$`)

// normaliseParamKey spells a key as the libraries compare it: leading
// dashes dropped ("--csv"), '_' as '-', lower case, and a boolean's
// "no-"/"no" prefix removed when the rest is a known key.
func normaliseParamKey(key string, known map[string]bool) string {
	k := strings.ToLower(strings.TrimLeft(key, "-"))
	k = strings.ReplaceAll(k, "_", "-")
	if known[k] {
		return k
	}
	for _, p := range []string{"no-", "no"} {
		if rest, ok := strings.CutPrefix(k, p); ok && known[rest] {
			return rest
		}
	}
	return k
}

// checkEncoderParams checks the value of an encoder parameter option.
func checkEncoderParams(option, value string) error {
	known, ok := encoderParams[option]
	if !ok {
		return fmt.Errorf("no parameter list for %s", option)
	}
	if strings.ContainsAny(value, `'"\`) {
		return fmt.Errorf("quotes and backslashes are not accepted in encoder parameters")
	}
	if value == "" {
		return fmt.Errorf("empty parameter list")
	}
	for _, kv := range strings.Split(value, ":") {
		key, val, _ := strings.Cut(kv, "=")
		k := normaliseParamKey(key, known)
		if !known[k] {
			if fileParams[k] {
				return fmt.Errorf("%s reads or writes another file", key)
			}
			return fmt.Errorf("%q is not on dswarm's list of %s keys that cannot touch files", key, option)
		}
		if !paramsValue.MatchString(val) {
			return fmt.Errorf("%s=%q: the value has characters an encoder parameter does not need", key, val)
		}
	}
	return nil
}

// fileParams are keys that name files, for a precise refusal.
var fileParams = set("stats", "qpfile", "zones-file", "zonefile", "csv", "csv-log-level", "dump-yuv",
	"analysis-save", "analysis-load", "analysis-reuse-file", "pass", "passlogfile", "cqmfile",
	"tcfile-in", "tcfile-out", "film-grain-table", "fgs-table", "stat-file", "input", "output",
	"recon", "lambda-file", "dhdr10-info", "dolby-vision-rpu", "scaling-list", "opencl-clbin",
	"fpf", "timecodes")

// Keys the libraries document that only set numbers, modes and flags.
var (
	x264Params = set("keyint", "min-keyint", "scenecut", "bframes", "b-adapt", "b-bias",
		"b-pyramid", "ref", "deblock", "crf", "qp", "qpmin", "qpmax", "qpstep", "ipratio",
		"pbratio", "aq-mode", "aq-strength", "psy-rd", "psy", "mbtree", "rc-lookahead", "me",
		"merange", "subme", "trellis", "partitions", "direct", "weightb", "weightp", "8x8dct",
		"cabac", "vbv-maxrate", "vbv-bufsize", "vbv-init", "nal-hrd", "open-gop", "bluray-compat",
		"colorprim", "transfer", "colormatrix", "range", "chromaloc", "sar", "level", "profile",
		"preset", "tune", "threads", "sliced-threads", "slices", "force-cfr", "aud",
		"repeat-headers", "intra-refresh", "fast-pskip", "dct-decimate", "nr", "deadzone-inter",
		"deadzone-intra", "cqm", "mvrange", "overscan", "videoformat", "frame-packing",
		"mastering-display", "cll", "alternative-transfer", "filler", "qcomp", "cplxblur", "qblur",
		"zones", "ratetol", "stitchable", "bitrate", "keyint-min", "constrained-intra", "fgo",
		"mixed-refs", "chroma-me", "chroma-qp-offset", "no-mixed-refs", "psnr", "ssim",
		"avcintra-class", "pic-struct", "fake-interlaced", "tff", "bff", "interlaced", "lookahead-threads")
	x265Params = set("keyint", "min-keyint", "scenecut", "bframes", "b-adapt", "b-pyramid", "ref",
		"crf", "qp", "qpmin", "qpmax", "aq-mode", "aq-strength", "psy-rd", "psy-rdoq", "rdoq-level",
		"rd", "me", "subme", "merange", "rc-lookahead", "vbv-maxrate", "vbv-bufsize", "vbv-init",
		"open-gop", "colorprim", "transfer", "colormatrix", "range", "chromaloc", "sar", "level-idc",
		"high-tier", "profile", "preset", "tune", "hdr10", "hdr10-opt", "hdr-opt", "master-display",
		"max-cll", "repeat-headers", "aud", "hrd", "info", "log-level", "strong-intra-smoothing",
		"sao", "deblock", "tu-intra-depth", "tu-inter-depth", "ctu", "min-cu-size", "max-tu-size",
		"limit-refs", "limit-modes", "rect", "amp", "early-skip", "rskip", "fast-intra", "b-intra",
		"weightp", "weightb", "pools", "frame-threads", "wpp", "pmode", "pme", "lossless", "cutree",
		"tskip", "cbqpoffs", "crqpoffs", "ipratio", "pbratio", "qcomp", "qpstep", "qblur",
		"cplxblur", "nr-intra", "nr-inter", "uhd-bd", "bitrate", "keyint-max", "radl", "ssim", "psnr",
		"interlace", "annexb", "temporal-layers", "vbv-end", "aq-motion", "hevc-aq", "selective-sao",
		"limit-sao", "max-merge", "splitrd-skip", "fades", "hist-scenecut", "no-open-gop")
	svtav1Params = set("preset", "crf", "qp", "tbr", "rc", "mbr", "keyint", "irefresh-type",
		"lookahead", "enable-overlays", "scd", "film-grain", "film-grain-denoise", "tune",
		"enable-tf", "tile-rows", "tile-columns", "fast-decode", "enable-qm", "qm-min", "qm-max",
		"color-primaries", "transfer-characteristics", "matrix-coefficients", "color-range",
		"mastering-display", "content-light", "chroma-sample-position", "enable-hdr", "aq-mode",
		"lp", "hierarchical-levels", "pred-struct", "buf-sz", "buf-initial-sz", "buf-optimal-sz",
		"overshoot-pct", "undershoot-pct", "enable-restoration", "enable-cdef", "min-qp", "max-qp",
		"bias-pct", "enable-dlf", "sharpness", "profile", "level", "recode-loop")
	aomParams = set("cpu-used", "auto-alt-ref", "sharpness", "static-thresh", "row-mt", "tile-columns",
		"tile-rows", "enable-tpl-model", "arnr-maxframes", "arnr-strength", "tune", "cq-level",
		"max-intra-rate", "max-inter-rate", "gf-cbr-boost", "lossless", "enable-cdef",
		"enable-restoration", "enable-obmc", "noise-sensitivity", "deltaq-mode", "enable-fwd-kf",
		"aq-mode", "frame-boost", "min-gf-interval", "max-gf-interval", "color-primaries",
		"transfer-characteristics", "matrix-coefficients", "enable-chroma-deltaq", "denoise-noise-level",
		"denoise-block-size", "enable-keyframe-filtering", "enable-qm", "qm-min", "qm-max",
		"end-usage", "target-bitrate", "min-q", "max-q", "undershoot-pct", "overshoot-pct",
		"kf-min-dist", "kf-max-dist", "lag-in-frames", "threads", "enable-dual-filter",
		"enable-intrabc", "enable-palette", "reduced-tx-type-set", "sb-size", "coeff-cost-upd-freq",
		"mode-cost-upd-freq", "mv-cost-upd-freq", "enable-tx64", "enable-global-motion", "bit-depth")
	encoderParams = map[string]map[string]bool{
		"x264-params":   x264Params,
		"x264opts":      x264Params,
		"x265-params":   x265Params,
		"svtav1-params": svtav1Params,
		"aom-params":    aomParams,
	}
)

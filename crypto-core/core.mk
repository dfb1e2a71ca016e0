# Builds the crypto core: our C layer plus the mbedTLS library sources, with one
# configuration, either to the WASI module (CC=emcc) or natively (the benchmark's limit).
# Called by build.sh: make -f crypto-core/core.mk MBEDTLS=<src> OUT=<dir> KIND=wasm|native

CORE      := crypto-core
MBED_SRCS := $(wildcard $(MBEDTLS)/library/*.c)
CORE_SRCS := $(wildcard $(CORE)/src/*.c)
OBJS      := $(patsubst $(MBEDTLS)/library/%.c,$(OUT)/mbedtls/%.o,$(MBED_SRCS)) \
             $(patsubst $(CORE)/src/%.c,$(OUT)/core/%.o,$(CORE_SRCS))
HEADERS   := $(wildcard $(CORE)/include/*.h) $(wildcard $(CORE)/src/*.h) $(CORE)/cc_mbedtls_config.h
# A change of flags here rebuilds everything.
BUILD_DEPS := $(CORE)/cc_mbedtls_config.h $(CORE)/core.mk

# 64-bit limbs: on wasm32 RSA is ~2.2x faster than with the default 32-bit ones.
DEFS      := -DMBEDTLS_CONFIG_FILE='"cc_mbedtls_config.h"' -DMBEDTLS_HAVE_INT64
INCS      := -I$(CORE) -I$(CORE)/include -I$(MBEDTLS)/include -I$(MBEDTLS)/library
CFLAGS    := -O3 -std=c99 -Wall -Wextra -Wno-unused-parameter $(DEFS) $(INCS)

ifeq ($(KIND),wasm)
CC        := emcc
# -flto: whole-module optimisation across mbedTLS files; -mbulk-memory: memcpy/memset as
# memory.copy/fill (Node 18 and 20 both run it). With the MULADDC in cc_mbedtls_config.h:
# P-256 sign -7%, keygen -8%, RSA-2048 sign -11% (bench/tuning/README.md).
CFLAGS    += -flto -mbulk-memory
# The export list is every cc_ function declared in include/ (build.sh passes EXPORTS).
LDFLAGS   := -O3 -flto -mbulk-memory --no-entry -sSTANDALONE_WASM -sTOTAL_STACK=1MB -sINITIAL_MEMORY=32MB \
             -sALLOW_MEMORY_GROWTH=0 -sFILESYSTEM=0 -sEXPORTED_FUNCTIONS=$(EXPORTS) \
             --js-library $(CORE)/wasm/random_get.js
TARGET    := $(OUT)/certd-core.wasm
else
CC        := gcc
CFLAGS    += -fPIC -D_DEFAULT_SOURCE
TARGET    := $(OUT)/libcertd-core.a
endif

all: $(TARGET)

$(OUT)/mbedtls/%.o: $(MBEDTLS)/library/%.c $(BUILD_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-error -c $< -o $@

$(OUT)/core/%.o: $(CORE)/src/%.c $(HEADERS) $(CORE)/core.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Werror -c $< -o $@

$(OUT)/certd-core.wasm: $(OBJS) $(CORE)/wasm/random_get.js $(CORE)/include/*.h
	$(CC) $(LDFLAGS) $(OBJS) -o $@

$(OUT)/libcertd-core.a: $(OBJS)
	rm -f $@ && ar rcs $@ $(OBJS)

.PHONY: all

# Tuning experiments only (not part of npm run bench): crypto-core/core.mk with extra flags,
# into its own output directory, so that the real build is never touched.
#   make -f bench/tuning/variant.mk MBEDTLS=build/mbedtls-3.6.6 OUT=build/try/<name>/wasm KIND=wasm \
#        EXPORTS=... EXTRA_CFLAGS='...' EXTRA_LDFLAGS='...' [OPT_LEVEL=-O2]
include crypto-core/core.mk
OPT_LEVEL ?= -O3
CFLAGS  := $(filter-out -O3,$(CFLAGS)) $(OPT_LEVEL) $(EXTRA_CFLAGS)
LDFLAGS := $(filter-out -O3,$(LDFLAGS)) $(OPT_LEVEL) $(EXTRA_LDFLAGS)

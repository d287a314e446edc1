# The microcontroller build (`make mcu`): libupclient and its three dependencies cross-built for
# a Cortex-M4 with arm-none-eabi-gcc and newlib-nano, and the example firmware of
# examples/cortex-m4 for QEMU's mps2-an386 board. The dependencies' sources are Debian's source
# packages, fetched into $(MCU)/src by scripts/mcu-fetch.sh (nothing of them is committed).
#
# Each dependency is compiled from the few source files the device needs, with the
# configuration macros its own build system would set, rather than through its autotools or
# CMake build: those would build (and configure for) far more than a verifier links.

# Not under $(BUILD): one cross build serves the plain and the sanitizer test runs.
MCU        ?= build/mcu
MCU_SRC    := $(MCU)/src
MCU_CC     := arm-none-eabi-gcc
MCU_AR     := arm-none-eabi-ar
# secp256k1's table of odd multiples of G for verification: 2^(W-2) points of 64 bytes in flash
# (W=2: 64 B .. W=4: 256 B); 2 is the smallest the library allows. tests/bench/mcu_figures.sh
# measures 2..4 (flash and time); see README "Microcontrollers".
MCU_ECMULT_WINDOW ?= 4
# ENC=0 builds libupclient without encrypted-image support (an encrypted release then fails
# with UL_E_DECRYPT, as without a class key): no X25519, XSalsa20, BLAKE2b or ChaCha20 linked.
MCU_ENC    ?= 1
MCU_VAR    := w$(MCU_ECMULT_WINDOW)-enc$(MCU_ENC)
MCU_OUT    := $(MCU)/$(MCU_VAR)
MCU_ARCH   := -mcpu=cortex-m4 -mthumb
MCU_CFLAGS := $(MCU_ARCH) -Os -g -ffunction-sections -fdata-sections -DNDEBUG --specs=nano.specs
MCU_STAMP  := $(MCU_SRC)/.fetched

SECP_DIR   := $(MCU_SRC)/libsecp256k1
SODIUM_DIR := $(MCU_SRC)/libsodium/src/libsodium
CBOR_DIR   := $(MCU_SRC)/libcbor/src
MCU_GEN    := $(MCU)/gen

# What configure would define for a verify-only libsecp256k1 with the BIP-340 modules; the
# default callbacks (which print with fprintf and abort) are the firmware's (USE_EXTERNAL_...).
SECP_DEFS  := -DENABLE_MODULE_SCHNORRSIG=1 -DENABLE_MODULE_EXTRAKEYS=1 \
              -DECMULT_WINDOW_SIZE=$(MCU_ECMULT_WINDOW) -DECMULT_GEN_PREC_BITS=2 \
              -DUSE_EXTERNAL_DEFAULT_CALLBACKS=1
SECP_FILES := src/secp256k1.c src/precomputed_ecmult.c src/precomputed_ecmult_gen.c
# libsodium: SHA-256; for encrypted images the secretstream (XChaCha20-Poly1305) and the sealed
# box (X25519, XSalsa20-Poly1305, BLAKE2b for its nonce). Portable reference code only.
SODIUM_DEFS := -DCONFIGURED=1 -DNATIVE_LITTLE_ENDIAN=1 -DHAVE_INLINE_ASM=0 -DSODIUM_STATIC=1
SODIUM_FILES := crypto_hash/sha256/hash_sha256.c crypto_hash/sha256/cp/hash_sha256_cp.c \
                crypto_verify/sodium/verify.c sodium/utils.c
SODIUM_ENC_FILES := crypto_secretstream/xchacha20poly1305/secretstream_xchacha20poly1305.c \
                crypto_core/hchacha20/core_hchacha20.c crypto_stream/chacha20/stream_chacha20.c \
                crypto_stream/chacha20/ref/chacha20_ref.c \
                crypto_onetimeauth/poly1305/onetimeauth_poly1305.c \
                crypto_onetimeauth/poly1305/donna/poly1305_donna.c \
                crypto_box/crypto_box_seal.c crypto_box/crypto_box_easy.c crypto_box/crypto_box.c \
                crypto_box/curve25519xsalsa20poly1305/box_curve25519xsalsa20poly1305.c \
                crypto_scalarmult/crypto_scalarmult.c \
                crypto_scalarmult/curve25519/scalarmult_curve25519.c \
                crypto_scalarmult/curve25519/ref10/x25519_ref10.c \
                crypto_core/ed25519/ref10/ed25519_ref10.c \
                crypto_core/hsalsa20/ref2/core_hsalsa20_ref2.c crypto_core/salsa/ref/core_salsa_ref.c \
                crypto_secretbox/crypto_secretbox_easy.c \
                crypto_secretbox/xsalsa20poly1305/secretbox_xsalsa20poly1305.c \
                crypto_stream/xsalsa20/stream_xsalsa20.c crypto_stream/salsa20/stream_salsa20.c \
                crypto_stream/salsa20/ref/salsa20_ref.c \
                crypto_generichash/crypto_generichash.c \
                crypto_generichash/blake2b/generichash_blake2.c \
                crypto_generichash/blake2b/ref/generichash_blake2b.c \
                crypto_generichash/blake2b/ref/blake2b-ref.c \
                crypto_generichash/blake2b/ref/blake2b-compress-ref.c
ifeq ($(MCU_ENC),1)
SODIUM_FILES += $(SODIUM_ENC_FILES)
endif
# libcbor: the streaming decoder and the encoders libupclient calls (it never builds items).
CBOR_FILES := cbor/streaming.c cbor/encoding.c cbor/callbacks.c cbor/internal/loaders.c \
              cbor/internal/encoders.c

MCU_INC := -I$(MCU_GEN) -I$(SECP_DIR)/include -I$(SODIUM_DIR)/include -I$(CBOR_DIR)
# Components the firmware's device state holds (schema/ul_limits.h UL_MAX_COMPONENTS): the
# example updates one, with one other installed beside it.
MCU_COMPONENTS ?= 2
CLIENT_MCU_DEFS := $(if $(filter 0,$(MCU_ENC)),-DUL_CLIENT_NO_DECRYPT=1) \
                   -DUL_MAX_COMPONENTS=$(MCU_COMPONENTS)

MCU_SECP_LIB   := $(MCU_OUT)/libsecp256k1.a
MCU_SODIUM_LIB := $(MCU_OUT)/libsodium.a
MCU_CBOR_LIB   := $(MCU_OUT)/libcbor.a
MCU_CLIENT_LIB := $(MCU_OUT)/libupclient.a
MCU_LIBS   := $(MCU_CLIENT_LIB) $(MCU_CBOR_LIB) $(MCU_SODIUM_LIB) $(MCU_SECP_LIB)
MCU_FW     := $(MCU_OUT)/fw.elf
MCU_PROBE  := $(MCU_OUT)/probe.elf
FW_DIR     := examples/cortex-m4
FW_SRC     := $(FW_DIR)/startup.c $(FW_DIR)/main.c $(FW_DIR)/port.c

mcu_obj = $(patsubst %.c,$(MCU_OUT)/obj/$(2)/%.o,$(1))

.PHONY: mcu mcu-deps check-mcu
mcu: mcu-deps
	@$(MAKE) -s --no-print-directory $(MCU_STAMP)
	@$(MAKE) --no-print-directory $(MCU_FW) check-mcu

mcu-deps:
	@scripts/deps.sh

$(MCU_STAMP): scripts/mcu-fetch.sh
	@scripts/mcu-fetch.sh $(MCU)
	@touch $@

# Headers the dependencies' build systems would generate.
$(MCU_GEN)/.stamp: $(MCU_STAMP)
	@mkdir -p $(MCU_GEN)/sodium $(MCU_GEN)/cbor
	@sed -e 's/@VERSION@/1.0.18/' -e 's/@SODIUM_LIBRARY_VERSION_MAJOR@/10/' \
	    -e 's/@SODIUM_LIBRARY_VERSION_MINOR@/3/' -e 's/@SODIUM_LIBRARY_MINIMAL_DEF@//' \
	    $(SODIUM_DIR)/include/sodium/version.h.in >$(MCU_GEN)/sodium/version.h
	@printf '#ifndef LIBCBOR_CONFIGURATION_H\n#define LIBCBOR_CONFIGURATION_H\n#define CBOR_MAJOR_VERSION 0\n#define CBOR_MINOR_VERSION 10\n#define CBOR_PATCH_VERSION 2\n#define CBOR_BUFFER_GROWTH 2\n#define CBOR_MAX_STACK_SIZE 64\n#define CBOR_PRETTY_PRINTER 0\n#define CBOR_RESTRICT_SPECIFIER restrict\n#define CBOR_INLINE_SPECIFIER inline\n#endif\n' >$(MCU_GEN)/cbor/configuration.h
	@printf '#ifndef CBOR_EXPORT_H\n#define CBOR_EXPORT_H\n#define CBOR_EXPORT\n#define CBOR_NO_EXPORT\n#endif\n' >$(MCU_GEN)/cbor/cbor_export.h
	@touch $@

$(MCU_OUT)/obj/secp/%.o: $(SECP_DIR)/%.c $(MCU_GEN)/.stamp
	@mkdir -p $(dir $@)
	@echo "  ARMCC   $<"
	$(Q)$(MCU_CC) $(MCU_CFLAGS) $(SECP_DEFS) -I$(SECP_DIR) -I$(SECP_DIR)/src -w -c $< -o $@

$(MCU_OUT)/obj/sodium/%.o: $(SODIUM_DIR)/%.c $(MCU_GEN)/.stamp
	@mkdir -p $(dir $@)
	@echo "  ARMCC   $<"
	$(Q)$(MCU_CC) $(MCU_CFLAGS) $(SODIUM_DEFS) -I$(MCU_GEN)/sodium -I$(SODIUM_DIR)/include/sodium $(MCU_INC) -w -c $< -o $@

$(MCU_OUT)/obj/cbor/%.o: $(CBOR_DIR)/%.c $(MCU_GEN)/.stamp
	@mkdir -p $(dir $@)
	@echo "  ARMCC   $<"
	$(Q)$(MCU_CC) $(MCU_CFLAGS) $(MCU_INC) -I$(CBOR_DIR)/cbor -w -c $< -o $@

# The library's and the firmware's objects are rebuilt when a header they include changes
# (-MMD: ul_update's layout is in client/ul_client.h and schema/ul_limits.h) or when
# CLIENT_MCU_DEFS does (this file records them, rewritten only when they differ).
MCU_DEFS_STAMP := $(MCU_OUT)/client-defs
ifneq ($(filter mcu check-mcu $(MCU)/%,$(MAKECMDGOALS)),)
$(shell mkdir -p $(MCU_OUT) && echo '$(CLIENT_MCU_DEFS)' | cmp -s - $(MCU_DEFS_STAMP) || \
    echo '$(CLIENT_MCU_DEFS)' >$(MCU_DEFS_STAMP))
endif
$(MCU_DEFS_STAMP):
	@mkdir -p $(dir $@) && echo '$(CLIENT_MCU_DEFS)' >$@
-include $(wildcard $(MCU_OUT)/obj/client/*/*.d $(MCU_OUT)/obj/fw/*/*/*.d)

# libupclient itself with the project's warnings (-Werror).
$(MCU_OUT)/obj/client/%.o: %.c $(MCU_GEN)/.stamp $(MCU_DEFS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  ARMCC   $<"
	$(Q)$(MCU_CC) -std=c11 $(WARN) -Wno-format-nonliteral $(MCU_CFLAGS) $(CLIENT_MCU_DEFS) $(MCU_INC) -I. -MMD -MP -c $< -o $@

$(MCU_OUT)/obj/fw/%.o: %.c $(MCU_GEN)/.stamp $(MCU_DEFS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  ARMCC   $<"
	$(Q)$(MCU_CC) -std=c11 $(WARN) $(MCU_CFLAGS) $(CLIENT_MCU_DEFS) $(MCU_INC) -I. -MMD -MP -c $< -o $@

$(MCU_SECP_LIB): $(call mcu_obj,$(SECP_FILES),secp)
$(MCU_SODIUM_LIB): $(call mcu_obj,$(SODIUM_FILES),sodium)
$(MCU_CBOR_LIB): $(call mcu_obj,$(CBOR_FILES),cbor)
# A microcontroller hashes with libsodium's portable SHA-256 (no OpenSSL on the target).
MCU_CLIENT_SRC := $(filter-out client/sha256_openssl.c,$(sort $(wildcard client/*.c schema/*.c)))
$(MCU_CLIENT_LIB): $(call mcu_obj,$(MCU_CLIENT_SRC),client)
$(MCU_LIBS):
	@echo "  ARMAR   $@"
	$(Q)rm -f $@ && $(MCU_AR) rcs $@ $^

MCU_LDFLAGS := $(MCU_ARCH) -Os --specs=nano.specs -nostartfiles -Wl,--gc-sections \
               -T $(FW_DIR)/mps2-an386.ld
# The firmware times signature checks and hashing by wrapping the library calls (main.c).
MCU_WRAP := -Wl,--wrap=secp256k1_schnorrsig_verify -Wl,--wrap=crypto_hash_sha256 \
            -Wl,--wrap=crypto_hash_sha256_update

$(MCU_FW): $(call mcu_obj,$(FW_SRC),fw) $(MCU_LIBS) $(FW_DIR)/mps2-an386.ld
	@echo "  ARMLD   $@"
	$(Q)$(MCU_CC) $(MCU_LDFLAGS) --specs=rdimon.specs $(MCU_WRAP) -Wl,-Map=$@.map -o $@ \
	    $(call mcu_obj,$(FW_SRC),fw) -Wl,--start-group $(MCU_LIBS) -Wl,--end-group -lrdimon

# The probe links what a device links of the library alone (every public update call, no
# firmware I/O, no semihosting): it must hold no allocator, stdio or assert.
$(MCU_PROBE): $(call mcu_obj,$(FW_DIR)/probe.c $(FW_DIR)/port.c,fw) $(MCU_LIBS)
	@echo "  ARMLD   $@"
	$(Q)$(MCU_CC) $(MCU_LDFLAGS) -nostdlib -Wl,-e,ul_probe_reset -Wl,-Map=$@.map -o $@ $(call mcu_obj,$(FW_DIR)/probe.c $(FW_DIR)/port.c,fw) \
	    -Wl,--start-group $(MCU_LIBS) -lc_nano -lgcc -Wl,--end-group

MCU_FORBIDDEN := malloc|calloc|realloc|free|_malloc_r|_free_r|printf|fprintf|puts|fputs|fwrite|_vfprintf_r|abort|__assert_func|__assert
check-mcu: $(MCU_PROBE)
	@bad=$$(arm-none-eabi-nm $(MCU_PROBE) | awk '{print $$NF}' | grep -E '^($(MCU_FORBIDDEN))$$' | sort -u); \
	if [ -n "$$bad" ]; then echo "the cross-built library links forbidden symbols: $$bad" >&2; exit 1; fi; \
	bad=$$(arm-none-eabi-nm -u $(MCU_CLIENT_LIB) | awk '{print $$2}' | grep -E '^($(MCU_FORBIDDEN))$$' | sort -u); \
	if [ -n "$$bad" ]; then echo "libupclient (arm) references forbidden symbols: $$bad" >&2; exit 1; fi

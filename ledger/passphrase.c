/* Passphrases for keystores: from UPLEDGER_PASSPHRASE, a file, or a prompt on the terminal (no
 * echo), into locked memory. Shared by upledger and `upledgerd init`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>

#include <sodium.h>

#include "ul_ledger.h"

/* The longest passphrase read (with its NUL): far above any typed one, and the buffer is locked
 * memory, which is scarce. */
#define MAX_PASSPHRASE 1024

void ul_passphrase_free(char *s)
{
    if (s) {
        sodium_free(s);
    }
}

/* Reads one line into a locked buffer without echo when it comes from a terminal. */
static ul_err read_line(FILE *f, bool no_echo, char *out, size_t cap)
{
    struct termios old, quiet;
    bool restore = no_echo && tcgetattr(fileno(f), &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(f), TCSAFLUSH, &quiet);
    }
    char *r = fgets(out, (int)cap, f);
    if (restore) {
        tcsetattr(fileno(f), TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (!r) {
        return UL_E_IO;
    }
    out[strcspn(out, "\r\n")] = 0;
    return UL_OK;
}

ul_err ul_passphrase_read(const char *passphrase_file, bool confirm, char **out)
{
    char *p = sodium_malloc(MAX_PASSPHRASE), *again = NULL;
    const char *env = getenv("UPLEDGER_PASSPHRASE");
    ul_err e = p ? UL_OK : UL_E_NOMEM;
    if (e == UL_OK && env) {
        if (strlen(env) >= MAX_PASSPHRASE) {
            e = UL_E_LIMIT;
        } else {
            memcpy(p, env, strlen(env) + 1);
        }
    } else if (e == UL_OK && passphrase_file) {
        FILE *f = fopen(passphrase_file, "r");
        e = f ? read_line(f, false, p, MAX_PASSPHRASE) : UL_E_IO;
        if (f) {
            fclose(f);
        }
    } else if (e == UL_OK) {
        FILE *tty = fopen("/dev/tty", "r+");
        if (!tty) {
            e = UL_E_PASSPHRASE; /* no terminal and no UPLEDGER_PASSPHRASE */
        } else {
            fputs("passphrase: ", stderr);
            e = read_line(tty, true, p, MAX_PASSPHRASE);
            if (e == UL_OK && confirm && (again = sodium_malloc(MAX_PASSPHRASE))) {
                fputs("again: ", stderr);
                e = read_line(tty, true, again, MAX_PASSPHRASE);
                e = e == UL_OK && strcmp(p, again) != 0 ? UL_E_PASSPHRASE : e;
                sodium_free(again);
            }
            fclose(tty);
        }
    }
    if (e != UL_OK) {
        ul_passphrase_free(p);
        return e;
    }
    *out = p;
    return UL_OK;
}

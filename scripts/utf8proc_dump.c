/* Dumps what utf8proc (the tokenizer's Unicode library) says about every code point, for
 * scripts/gen-unicode-tables.mjs: one line per code point
 *   <cp hex> <category> <ccc> <simple lowercase hex> <joins> <composite> <prepend> <n> <canonical decomposition hex x n> <compatibility decomposition hex...>
 * where <joins> is 1 when utf8proc sees no grapheme break between 'x' and the code point, <prepend>
 * 1 for Grapheme_Cluster_Break=Prepend,
 * <composite> is 1 for a primary composite (NFC gives it back from its canonical decomposition), and a
 * first line "# <utf8proc Unicode version>". Surrogates are skipped.
 * Build: cc -O2 utf8proc_dump.c -lutf8proc */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

int main(void) {
  printf("# %s\n", utf8proc_unicode_version());
  for (utf8proc_int32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    const utf8proc_property_t* p = utf8proc_get_property(cp);
    const utf8proc_int32_t lower = utf8proc_tolower(cp);
    utf8proc_int32_t d[32], k[32];
    int boundclass = UTF8PROC_BOUNDCLASS_START;
    utf8proc_ssize_t n = utf8proc_decompose_char(cp, d, 32, UTF8PROC_DECOMPOSE, &boundclass);
    if (n < 0 || n > 32) n = 0;
    boundclass = UTF8PROC_BOUNDCLASS_START;
    utf8proc_ssize_t m = utf8proc_decompose_char(cp, k, 32, (utf8proc_option_t)(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT), &boundclass);
    if (m < 0 || m > 32) m = 0;
    utf8proc_int32_t state = 0;
    const int joins = !utf8proc_grapheme_break_stateful('x', cp, &state);
    int composite = 0;
    if (n >= 2) {
      utf8proc_uint8_t buf[8] = {0};
      utf8proc_encode_char(cp, buf);
      utf8proc_uint8_t* nfc = utf8proc_NFC(buf);
      composite = nfc != NULL && strcmp((const char*)nfc, (const char*)buf) == 0;
      free(nfc);
    }
    const int prepend = p->boundclass == UTF8PROC_BOUNDCLASS_PREPEND;
    printf("%x %d %d %x %d %d %d %d", (unsigned)cp, (int)p->category, (int)p->combining_class, (unsigned)lower, joins, composite, prepend,
           (int)n);
    for (utf8proc_ssize_t i = 0; i < n; ++i) printf(" %x", (unsigned)d[i]);
    for (utf8proc_ssize_t i = 0; i < m; ++i) printf(" %x", (unsigned)k[i]);
    printf("\n");
  }
  return 0;
}

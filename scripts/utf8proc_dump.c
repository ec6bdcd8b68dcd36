/* Dumps what utf8proc (the tokenizer's Unicode library) says about every code point, for
 * scripts/gen-unicode-tables.mjs: one line per code point that is not "plain"
 *   <cp hex> <category> <ccc> <simple lowercase hex> [<canonical decomposition hex>...]
 * and a first line "# <utf8proc Unicode version>". Surrogates are skipped.
 * Build: cc -O2 utf8proc_dump.c -lutf8proc */
#include <stdio.h>
#include <utf8proc.h>

int main(void) {
  printf("# %s\n", utf8proc_unicode_version());
  for (utf8proc_int32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    const utf8proc_property_t* p = utf8proc_get_property(cp);
    const utf8proc_int32_t lower = utf8proc_tolower(cp);
    utf8proc_int32_t d[32];
    int boundclass = UTF8PROC_BOUNDCLASS_START;
    const utf8proc_ssize_t n = utf8proc_decompose_char(cp, d, 32, UTF8PROC_DECOMPOSE, &boundclass);
    printf("%x %d %d %x", (unsigned)cp, (int)p->category, (int)p->combining_class, (unsigned)lower);
    for (utf8proc_ssize_t i = 0; i < n && i < 32; ++i) printf(" %x", (unsigned)d[i]);
    printf("\n");
  }
  return 0;
}

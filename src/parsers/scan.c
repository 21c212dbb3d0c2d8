/* scan: the character-class table of scan.h. */
#include "parsers/scan.h"

#define D MM_CC_DIGIT | MM_CC_HEXUP
#define H MM_CC_UPPER | MM_CC_HEXUP
#define U MM_CC_UPPER
#define L MM_CC_LOWER

const unsigned char mm_scan_cc[256] = {
	['0'] = D, ['1'] = D, ['2'] = D, ['3'] = D, ['4'] = D, ['5'] = D, ['6'] = D,
	['7'] = D, ['8'] = D, ['9'] = D, ['A'] = H, ['B'] = H, ['C'] = H, ['D'] = H,
	['E'] = H, ['F'] = H, ['G'] = U, ['H'] = U, ['I'] = U, ['J'] = U, ['K'] = U,
	['L'] = U, ['M'] = U, ['N'] = U, ['O'] = U, ['P'] = U, ['Q'] = U, ['R'] = U,
	['S'] = U, ['T'] = U, ['U'] = U, ['V'] = U, ['W'] = U, ['X'] = U, ['Y'] = U,
	['Z'] = U, ['a'] = L, ['b'] = L, ['c'] = L, ['d'] = L, ['e'] = L, ['f'] = L,
	['g'] = L, ['h'] = L, ['i'] = L, ['j'] = L, ['k'] = L, ['l'] = L, ['m'] = L,
	['n'] = L, ['o'] = L, ['p'] = L, ['q'] = L, ['r'] = L, ['s'] = L, ['t'] = L,
	['u'] = L, ['v'] = L, ['w'] = L, ['x'] = L, ['y'] = L, ['z'] = L,
};

#include <gmp.h>
#include <nettle/rsa.h>
#include <nettle/yarrow.h>

/* The upledger release version, one definition for every binary's --version and upclient.pc. */
#ifndef UL_VERSION_H
#define UL_VERSION_H
#define UL_VERSION_STRING "0.1.0"
#endif

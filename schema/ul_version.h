/* The version every upledger program reports with --version. */
#ifndef UL_VERSION_H
#define UL_VERSION_H
#define UL_VERSION_STRING "0.1.0"
#endif

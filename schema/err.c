/* Names and messages of upledger error codes, generated from the one list in ul_err.h so that
 * a code added there is named here without another edit.
 */
#include "ul_err.h"

const char *ul_err_name(ul_err e)
{
    switch (e) {
#define UL_ERR_NAME_(name, num, msg)                                                               \
    case name:                                                                                     \
        return #name;
        UL_ERR_LIST(UL_ERR_NAME_)
#undef UL_ERR_NAME_
    }
    return "UL_E_UNKNOWN";
}

const char *ul_err_str(ul_err e)
{
    switch (e) {
#define UL_ERR_STR_(name, num, msg)                                                                \
    case name:                                                                                     \
        return msg;
        UL_ERR_LIST(UL_ERR_STR_)
#undef UL_ERR_STR_
    }
    return "unknown error";
}

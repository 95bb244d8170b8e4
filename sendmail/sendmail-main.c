/* baremail-sendmail: the sendmail command for BareMail (see sendmail-run.c). */
#include "sendmail.h"

int
main(int argc, char **argv)
{
	return sendmail_run(argc, argv);
}

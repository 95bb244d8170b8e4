# The client of tests/debian.bats' upgrade test, run in the container:
# sends N messages to 127.0.0.1:25, one connection each, with Python's
# smtplib at its defaults, and writes what happened to OUT as JSON: the
# subjects acknowledged with 250, refused connections (retried), other
# errors, and how many were sent while the upgrade ran.  Creates
# /run/load-started after 50 messages; before the last 50 it waits for
# /run/upgrade-done, so the whole upgrade happens under load.
import json
import os
import smtplib
import sys
import time

n, out = int(sys.argv[1]), sys.argv[2]
acked, errors, refused, during = [], [], 0, 0
for i in range(n):
    if i == 50:
        open("/run/load-started", "w").close()
    if i == n - 50:
        for _ in range(6000):
            if os.path.exists("/run/upgrade-done"):
                break
            time.sleep(0.1)
    upgrading = os.path.exists("/run/load-started") and \
        not os.path.exists("/run/upgrade-done")
    subject = "upgrade-load-%d-%d" % (os.getpid(), i)
    for attempt in range(20):
        try:
            s = smtplib.SMTP("127.0.0.1", 25, timeout=60)
        except ConnectionRefusedError:
            refused += 1
            print("connection %d refused, retried" % i, flush=True)
            time.sleep(0.1)
            continue
        try:
            s.sendmail("load@box", ["root@box"],
                       "Subject: %s\r\n\r\nmessage %d\r\n" % (subject, i))
        except (smtplib.SMTPException, OSError) as e:
            # Not acknowledged: not retried either, so that a message
            # the server did store is never sent twice.
            errors.append("%d: %r" % (i, e))
            print("message %d: %r" % (i, e), flush=True)
            break
        acked.append(subject)
        if upgrading:
            during += 1
        try:
            s.quit()
        except (smtplib.SMTPException, OSError) as e:
            errors.append("%d quit: %r" % (i, e))
        break
with open(out, "w") as f:
    json.dump({"acked": acked, "refused": refused, "errors": errors,
               "during": during}, f)
print("acked %d, refused %d, errors %d, sent during the upgrade %d"
      % (len(acked), refused, len(errors), during))
sys.exit(0 if len(acked) == n else 1)

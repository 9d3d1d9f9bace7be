#!/usr/bin/env bash
# pipelines/columns.sh ROLE HEADER - the column of HEADER (tab-separated
# names) that plays ROLE (user, item, time, event or rating) by its name,
# compared case-insensitively and ignoring '_', '-' and ' '; the first match
# in the order of the table below, or nothing. pipelines/yourdata.mk runs it
# for each role the command line leaves unset.
#
#   user    user userid customer customerid visitor visitorid client clientid
#           member memberid buyer account accountid uid
#   item    item itemid product productid movie movieid article articleid sku
#           song track book bookid video content offer listing iid
#   time    timestamp time ts datetime date when eventtime createdat unixtime
#   event   event eventtype action type behavior behaviortype behaviour kind
#           interaction
#   rating  rating stars score grade
set -euo pipefail
role=$1
header=$2
case $role in
user) names="user userid customer customerid visitor visitorid client clientid member memberid buyer account accountid uid" ;;
item) names="item itemid product productid movie movieid article articleid sku song track book bookid video content offer listing iid" ;;
time) names="timestamp time ts datetime date when eventtime createdat unixtime" ;;
event) names="event eventtype action type behavior behaviortype behaviour kind interaction" ;;
rating) names="rating stars score grade" ;;
*) echo "columns.sh: unknown role '$role' (user, item, time, event, rating)" >&2; exit 2 ;;
esac
IFS=$'\t' read -r -a cols <<< "$header"
for want in $names; do
    for c in "${cols[@]}"; do
        key=$(tr -d '_ -' <<< "$c" | tr '[:upper:]' '[:lower:]')
        if [ "$key" = "$want" ]; then
            printf '%s\n' "$c"
            exit 0
        fi
    done
done

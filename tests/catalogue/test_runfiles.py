"""Run files as orchestrators write them, each recognised by its columns. The fixtures are built from the formats
as documented and as public code uses them (sources cited at each fixture)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalogue.runfiles import (
    DANISH,
    ParsedRun,
    RowProblem,
    RunFileError,
    month_of,
    open_run_file,
    parse_time,
)


def read(data: bytes | str, default_key: str | None = None) -> tuple[str, list[ParsedRun | RowProblem]]:
    raw = data.encode() if isinstance(data, str) else data
    run_file = open_run_file(io.BytesIO(raw), default_key)
    return run_file.format.name, list(run_file.rows)


def runs(rows: list[ParsedRun | RowProblem]) -> list[ParsedRun]:
    return [r for r in rows if isinstance(r, ParsedRun)]


def problems(rows: list[ParsedRun | RowProblem]) -> list[RowProblem]:
    return [r for r in rows if isinstance(r, RowProblem)]


# ---------------------------------------------------------------- Power Automate (Dataverse flowrun)

# The Dataverse `flowrun` table (learn.microsoft.com/power-apps/developer/data-platform/reference/entities/flowrun
# and power-automate/dataverse/cloud-flow-run-metadata): primary id `flowrunid`, `name` (the run's logic app id),
# `starttime`, `endtime`, `duration`, `status` (Succeeded, Failed, Cancelled, Running), `triggertype`,
# `errorcode`, `errormessage`, `workflowid`, `_workflow_value`; a Web API answer is OData `{"value": [...]}` with
# the lookup's name in `_workflow_value@OData.Community.Display.V1.FormattedValue` when annotations are asked for.
FLOWRUNS_JSON = {
    "@odata.context": "https://org.crm4.dynamics.com/api/data/v9.2/$metadata#flowruns",
    "value": [
        {
            "flowrunid": "3f1c9e2a-6a8e-4a54-9f5e-1b1b2c3d4e01",
            "name": "08584712345678901234567890123CU01",
            "starttime": "2024-05-31T21:58:00Z",
            "endtime": "2024-05-31T22:01:00Z",
            "duration": 180,
            "status": "Succeeded",
            "triggertype": "Scheduled",
            "errorcode": None,
            "errormessage": None,
            "workflowid": "b1f0c0de-0000-4000-8000-000000000001",
            "_workflow_value": "b1f0c0de-0000-4000-8000-000000000001",
            "_workflow_value@OData.Community.Display.V1.FormattedValue": "Sygedagpenge - opfølgning",
        },
        {
            "flowrunid": "3f1c9e2a-6a8e-4a54-9f5e-1b1b2c3d4e02",
            "name": "08584712345678901234567890123CU02",
            "starttime": "2024-06-03T07:00:00Z",
            "endtime": "2024-06-03T07:02:10Z",
            "status": "Failed",
            "errorcode": "ActionFailed",
            "errormessage": "An action failed. No dependent actions succeeded.",
            "workflowid": "b1f0c0de-0000-4000-8000-000000000001",
            "_workflow_value": "b1f0c0de-0000-4000-8000-000000000001",
            "_workflow_value@OData.Community.Display.V1.FormattedValue": "Sygedagpenge - opfølgning",
        },
        {
            "flowrunid": "3f1c9e2a-6a8e-4a54-9f5e-1b1b2c3d4e03",
            "name": "08584712345678901234567890123CU03",
            "starttime": "2024-06-03T08:00:00Z",
            "endtime": None,
            "status": "Running",
            "workflowid": "b1f0c0de-0000-4000-8000-000000000001",
        },
    ],
}

# The same table exported as CSV (Power Apps maker portal, Tables → Flow Run → Export data): logical names as
# headers, times in the exporter's zone without an offset.
FLOWRUNS_CSV = (
    "flowrunid,name,starttime,endtime,duration,status,triggertype,workflowid,workflowname\r\n"
    "9a0e-01,0858471CU11,2024-10-27 02:10:00,2024-10-27 02:40:00,1800,Succeeded,Automated,b1f0c0de,Tolkeregninger\r\n"
    "9a0e-02,0858471CU12,2024-10-27 03:10:00,2024-10-27 03:12:00,120,Cancelled,Manual,b1f0c0de,Tolkeregninger\r\n"
)


def test_power_automate_flow_runs_from_the_web_api() -> None:
    name, rows = read(json.dumps(FLOWRUNS_JSON))
    assert name == "power-automate"
    first, second = runs(rows)
    assert (first.run_id, first.outcome, first.units) == ("3f1c9e2a-6a8e-4a54-9f5e-1b1b2c3d4e01", "success", 1)
    assert first.keys[0] == "Sygedagpenge - opfølgning" and "b1f0c0de-0000-4000-8000-000000000001" in first.keys
    assert month_of(first.ended_at) == "2024-06"  # 00:01 Danish summer time on 1 June
    assert second.outcome == "failure"
    [running] = problems(rows)
    assert (running.row, running.action) == (3, "ignore")


def test_power_automate_flow_runs_exported_as_csv() -> None:
    name, rows = read(FLOWRUNS_CSV)
    assert name == "power-automate"
    first, second = runs(rows)
    assert first.keys[0] == "Tolkeregninger" and second.outcome == "failure"
    assert first.ended_at.tzinfo is DANISH and first.row == 2


# ---------------------------------------------------------------- UiPath Orchestrator

# GET /odata/QueueItems (UiPath Orchestrator API guide, "Queue Items requests"; the QueueItem DTO as public
# clients print it: Id, Key, QueueDefinitionId, Status New|InProgress|Failed|Successful|Abandoned|Retried|Deleted,
# ProcessingExceptionType null|BusinessException|ApplicationException, Reference, StartProcessing, EndProcessing
# in UTC). `$expand=QueueDefinition` adds the queue's Name.
QUEUE_ITEMS_JSON = {
    "@odata.context": "https://cloud.uipath.com/org/tenant/orchestrator_/odata/$metadata#QueueItems",
    "@odata.count": 4,
    "value": [
        {
            "QueueDefinitionId": 615,
            "Status": "Successful",
            "ReviewStatus": "None",
            "Key": "72f64c0a-fec1-42f2-a29f-069a054562c2",
            "Reference": "sag-8158",
            "ProcessingExceptionType": None,
            "Priority": "Normal",
            "StartProcessing": "2024-03-30T22:55:07.13Z",
            "EndProcessing": "2024-03-30T23:05:07.13Z",
            "RetryNumber": 0,
            "Id": 81580,
            "QueueDefinition": {"Id": 615, "Name": "Straffeattester"},
        },
        {
            "QueueDefinitionId": 615,
            "Status": "Failed",
            "Key": "72f64c0a-fec1-42f2-a29f-069a054562c3",
            "Reference": "sag-8159",
            "ProcessingExceptionType": "BusinessException",
            "ProcessingException": {"Reason": "CPR findes ikke", "Type": "BusinessException"},
            "EndProcessing": "2024-03-31T08:00:00.5Z",
            "Id": 81581,
        },
        {
            "QueueDefinitionId": 615,
            "Status": "Failed",
            "Key": "72f64c0a-fec1-42f2-a29f-069a054562c4",
            "ProcessingExceptionType": "ApplicationException",
            "EndProcessing": "2024-03-31T08:01:00Z",
            "Id": 81582,
        },
        {
            "QueueDefinitionId": 615,
            "Status": "New",
            "Key": "72f64c0a-fec1-42f2-a29f-069a054562c5",
            "EndProcessing": None,
            "Id": 81583,
        },
    ],
}

# GET /odata/Jobs (UiPath Orchestrator API guide, "Jobs requests"): Id, Key, State
# Pending|Running|Successful|Faulted|Stopped|…, ReleaseName (the process), StartTime, EndTime, Info.
JOBS_JSON = [
    {
        "Key": "1f7b5c12-0a1b-4c2d-9e3f-000000000001",
        "StartTime": "2024-05-03T06:00:01.2Z",
        "EndTime": "2024-05-03T06:20:00.437Z",
        "State": "Successful",
        "Source": "Schedule",
        "ReleaseName": "Indhentning_Straffeattester_Prod",
        "Info": "Job completed",
        "Id": 512301,
    },
    {
        "Key": "1f7b5c12-0a1b-4c2d-9e3f-000000000002",
        "EndTime": "2024-05-04T06:03:00Z",
        "State": "Faulted",
        "ReleaseName": "Indhentning_Straffeattester_Prod",
        "Id": 512302,
    },
    {"Key": "1f7b5c12-0a1b-4c2d-9e3f-000000000003", "EndTime": None, "State": "Running", "ReleaseName": "X"},
]

# The Transactions grid exported to CSV (UiPath Orchestrator user guide, "Exporting grids in the background" and
# "Field Descriptions for Transactions": Status, Reference, Revision, Deadline, Priority, Postpone, Started, Ended,
# Robot, Exception). One export holds one queue's transactions, so the queue is named by the caller (`key`).
QUEUE_ITEMS_CSV = (
    "Status,Reference,Revision,Deadline,Priority,Postpone,Started,Ended,Robot,Exception\r\n"
    "Successful,sag-1,None,,Normal,,03/31/2024 1:50:00 AM,03/31/2024 3:10:00 AM,ROBOT01,\r\n"
    "Failed,sag-2,None,,High,,03/31/2024 3:20:00 AM,03/31/2024 3:21:00 AM,ROBOT01,Business Exception\r\n"
    "In Progress,sag-3,None,,Normal,,03/31/2024 3:30:00 AM,,ROBOT01,\r\n"
)

# The Jobs grid exported to CSV: Process, State, Started, Ended, Robot, Hostname, Source (no job id: the row's
# process, robot and times identify it).
JOBS_CSV = (
    "Process;State;Started;Ended;Robot;Hostname;Source\n"
    "Tolkeregninger;Successful;2024-05-03 08:00:00;2024-05-03 08:12:00;ROBOT02;VDI-07;Schedule\n"
    "Tolkeregninger;Stopped;2024-05-03 09:00:00;2024-05-03 09:01:00;ROBOT02;VDI-07;Manual\n"
)


def test_uipath_queue_items_from_the_api() -> None:
    name, rows = read(json.dumps(QUEUE_ITEMS_JSON))
    assert name == "uipath-queue-items"
    ok, business, application = runs(rows)
    assert (ok.run_id, ok.outcome, ok.keys[0]) == ("72f64c0a-fec1-42f2-a29f-069a054562c2", "success", "Straffeattester")
    assert "615" in business.keys  # without $expand the queue is known by its id
    assert business.outcome == "business_exception" and application.outcome == "failure"
    assert month_of(ok.ended_at) == "2024-03"  # 00:05 on 31 March, still winter time (UTC+1)
    assert [p.action for p in problems(rows)] == ["ignore"]


def test_uipath_jobs_from_the_api() -> None:
    name, rows = read(json.dumps(JOBS_JSON))
    assert name == "uipath-jobs"
    ok, faulted = runs(rows)
    assert (ok.outcome, ok.keys[0], faulted.outcome) == ("success", "Indhentning_Straffeattester_Prod", "failure")


def test_uipath_queue_items_exported_as_csv_with_the_callers_key() -> None:
    name, rows = read(QUEUE_ITEMS_CSV, default_key="Straffeattester")
    assert name == "uipath-queue-items"
    ok, business = runs(rows)
    assert (ok.run_id, ok.keys) == ("sag-1", ("Straffeattester",))
    # 3:10 AM on 31 March 2024 is Danish summer time (the clocks went 02:00 → 03:00): 01:10 UTC
    assert ok.ended_at.astimezone(dt.UTC) == dt.datetime(2024, 3, 31, 1, 10, tzinfo=dt.UTC)
    assert business.outcome == "business_exception"
    assert [p.row for p in problems(rows)] == [4]


def test_uipath_jobs_exported_as_csv_get_a_stable_id_from_their_columns() -> None:
    name, rows = read(JOBS_CSV)
    assert name == "uipath-jobs"
    ok, stopped = runs(rows)
    assert ok.run_id.startswith("sha1:") and ok.run_id != stopped.run_id
    assert ok.run_id == runs(read(JOBS_CSV)[1])[0].run_id
    assert stopped.outcome == "failure" and ok.keys == ("Tolkeregninger",)


# ---------------------------------------------------------------- OpenOrchestrator

# itk-dev-rpa/OpenOrchestrator, OpenOrchestrator/database/queues.py: table "Queues" with id (uuid), queue_name,
# status (QueueStatus: NEW 'New', IN_PROGRESS 'In Progress', DONE 'Done', FAILED 'Failed', ABANDONED 'Abandoned';
# SQLAlchemy stores the name), data, reference, created_date, start_date, end_date (datetime.now: local time, no
# zone), message, created_by.
OPENORCHESTRATOR_CSV = (
    "id;queue_name;status;data;reference;created_date;start_date;end_date;message;created_by\n"
    "6b1f3c4e-1d2a-4b5c-8d9e-0f1a2b3c4d01;Aktindsigt;DONE;{};AI-2024-01;2024-04-30 23:50:00;"
    "2024-04-30 23:55:00;2024-05-01 00:05:00;;Robot1\n"
    "6b1f3c4e-1d2a-4b5c-8d9e-0f1a2b3c4d02;Aktindsigt;FAILED;{};AI-2024-02;2024-05-01 08:00:00;"
    "2024-05-01 08:01:00;2024-05-01 08:02:00;Sagen findes ikke;Robot1\n"
    "6b1f3c4e-1d2a-4b5c-8d9e-0f1a2b3c4d03;Aktindsigt;IN_PROGRESS;{};AI-2024-03;2024-05-01 09:00:00;"
    "2024-05-01 09:01:00;;;Robot1\n"
)
# Its own queue screen (QueueElement.to_row_dict): ID, Reference, Status (the value), Data, Created Date, Start
# Date, End Date (dd-mm-yyyy HH:MM), Message, Created By.
OPENORCHESTRATOR_SCREEN_CSV = (
    "ID,Reference,Status,Data,Created Date,Start Date,End Date,Message,Created By\n"
    "6b1f3c4e-01,AI-1,Done,{},30-04-2024 23:50,30-04-2024 23:55,01-05-2024 00:05,,Robot1\n"
    "6b1f3c4e-02,AI-2,Abandoned,{},01-05-2024 08:00,01-05-2024 08:01,01-05-2024 08:02,,Robot1\n"
)


def test_openorchestrator_queue_elements_from_its_table() -> None:
    name, rows = read(OPENORCHESTRATOR_CSV)
    assert name == "openorchestrator"
    done, failed = runs(rows)
    assert (done.outcome, done.keys, month_of(done.ended_at)) == ("success", ("Aktindsigt",), "2024-05")
    assert failed.outcome == "failure"
    assert [p.action for p in problems(rows)] == ["ignore"]


def test_openorchestrator_queue_elements_from_its_screen() -> None:
    name, rows = read(OPENORCHESTRATOR_SCREEN_CSV, default_key="Aktindsigt")
    assert name == "openorchestrator"
    done, abandoned = runs(rows)
    assert month_of(done.ended_at) == "2024-05" and abandoned.outcome == "failure"


# ---------------------------------------------------------------- generic and bad files


def test_generic_csv_in_windows_1252_with_a_bom_free_header() -> None:
    data = "id;ended_at;outcome;units;key\nø1;2024-05-03T10:15:00+02:00;success;3;Sygedagpenge\n".encode("cp1252")
    name, rows = read(data)
    [only] = runs(rows)
    assert (name, only.run_id, only.units, only.keys) == ("generic", "ø1", 3, ("Sygedagpenge",))


def test_generic_csv_with_a_utf8_bom_and_commas() -> None:
    name, rows = read("\ufeffid,ended_at,outcome\nx,2024-05-03T10:15:00Z,business-exception\n")
    assert runs(rows)[0].outcome == "business_exception"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (";2024-05-03T10:15:00Z;success;1", "id"),
        ("x;;success;1", "ended_at"),
        ("x;i morgen;success;1", "ended_at"),
        ("x;2024-05-03T10:15:00Z;ok;1", "outcome"),
        ("x;2024-05-03T10:15:00Z;success;0", "units"),
        ("x;2024-05-03T10:15:00Z;success;1.5", "units"),
        (f"{'x' * 201};2024-05-03T10:15:00Z;success;1", "id"),
    ],
)
def test_bad_rows_name_the_field(line: str, field: str) -> None:
    _, rows = read(f"id;ended_at;outcome;units\n{line}\n")
    [problem] = problems(rows)
    assert problem.action == "error" and problem.row == 2
    assert [e.field for e in problem.errors] == [field]


@pytest.mark.parametrize("data", ["", "   ", "navn;dato\nx;y\n", "[1, 2]", '{"value": "x"}', "{not json"])
def test_files_that_are_not_run_files(data: str) -> None:
    with pytest.raises(RunFileError):
        read(data)


# ---------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2024-05-03T10:15:00+02:00", "2024-05-03T08:15:00"),
        ("2024-05-03T08:15:00Z", "2024-05-03T08:15:00"),
        ("2024-05-03T08:15:00.1234567Z", "2024-05-03T08:15:00.123456"),
        ("2024-05-03 10:15:00", "2024-05-03T08:15:00"),  # Danish summer time
        ("2024-01-03 10:15", "2024-01-03T09:15:00"),  # Danish winter time
        ("03.05.2024 10:15", "2024-05-03T08:15:00"),
        ("3-5-2024", "2024-05-02T22:00:00"),
        ("5/3/2024 10:15:00 PM", "2024-05-03T20:15:00"),
    ],
)
def test_times(text: str, utc: str) -> None:
    assert parse_time(text).astimezone(dt.UTC).replace(tzinfo=None).isoformat() == utc


@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31), timezones=st.just(dt.UTC)))
def test_the_month_is_the_danish_calendar_month(moment: dt.datetime) -> None:
    local = moment.astimezone(DANISH)
    assert month_of(moment) == f"{local.year:04d}-{local.month:02d}"
    assert month_of(parse_time(moment.isoformat())) == month_of(moment)

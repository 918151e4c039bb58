""" Contains all the data models used in inputs/outputs """

from .account import Account
from .account_list import AccountList
from .account_patch import AccountPatch
from .alert_rule import AlertRule
from .alert_rule_list import AlertRuleList
from .alert_rule_spec import AlertRuleSpec
from .attempt_error import AttemptError
from .audit_entry import AuditEntry
from .audit_page import AuditPage
from .budget import Budget
from .budget_alert import BudgetAlert
from .budget_changed import BudgetChanged
from .budget_deleted import BudgetDeleted
from .budget_left import BudgetLeft
from .budget_list import BudgetList
from .budget_patch import BudgetPatch
from .budget_period import BudgetPeriod
from .catch_up import CatchUp
from .classification import Classification
from .classification_list import ClassificationList
from .classify_signal_args import ClassifySignalArgs
from .classify_signal_job import ClassifySignalJob
from .concurrency import Concurrency
from .concurrency_key_stats import ConcurrencyKeyStats
from .cost_entry import CostEntry
from .cost_page import CostPage
from .cost_totals import CostTotals
from .created_destination import CreatedDestination
from .created_partner import CreatedPartner
from .debounce import Debounce
from .deliver_args import DeliverArgs
from .deliver_job import DeliverJob
from .delivery import Delivery
from .delivery_attempt import DeliveryAttempt
from .delivery_page import DeliveryPage
from .destination import Destination
from .destination_list import DestinationList
from .destination_patch import DestinationPatch
from .destination_test import DestinationTest
from .economics_breach import EconomicsBreach
from .economics_figures import EconomicsFigures
from .economics_group import EconomicsGroup
from .economics_report import EconomicsReport
from .economics_revenue import EconomicsRevenue
from .economics_watch import EconomicsWatch
from .economics_watch_spec import EconomicsWatchSpec
from .engagement import Engagement
from .erase_author import EraseAuthor
from .erased import Erased
from .estimate import Estimate
from .estimate_basis import EstimateBasis
from .estimate_request import EstimateRequest
from .expected_revenue import ExpectedRevenue
from .export import Export
from .export_economics_group_by import ExportEconomicsGroupBy
from .export_enqueued import ExportEnqueued
from .export_lead_args import ExportLeadArgs
from .export_lead_job import ExportLeadJob
from .export_leads_status import ExportLeadsStatus
from .export_list import ExportList
from .export_signals_format import ExportSignalsFormat
from .export_signals_state import ExportSignalsState
from .fetch_source_args import FetchSourceArgs
from .fetch_source_job import FetchSourceJob
from .fleet_snapshot import FleetSnapshot
from .forecast import Forecast
from .forecast_basis import ForecastBasis
from .gdpr_erased import GdprErased
from .gdpr_export import GdprExport
from .gdpr_subject import GdprSubject
from .get_economics_group_by import GetEconomicsGroupBy
from .host import Host
from .host_list import HostList
from .http_method import HttpMethod
from .http_request_args import HttpRequestArgs
from .http_request_args_headers import HttpRequestArgsHeaders
from .http_request_job import HttpRequestJob
from .ingest_report import IngestReport
from .ingest_report_rejected import IngestReportRejected
from .job import Job
from .job_kind import JobKind
from .job_list import JobList
from .job_page import JobPage
from .job_state import JobState
from .key import Key
from .key_list import KeyList
from .lead import Lead
from .lead_contact import LeadContact
from .lead_detail import LeadDetail
from .lead_factor import LeadFactor
from .lead_page import LeadPage
from .lead_settings import LeadSettings
from .lead_settings_patch import LeadSettingsPatch
from .lead_signal import LeadSignal
from .lead_status import LeadStatus
from .lead_status_change import LeadStatusChange
from .list_costs_entry import ListCostsEntry
from .list_deliveries_state import ListDeliveriesState
from .list_jobs_kind import ListJobsKind
from .list_leads_status import ListLeadsStatus
from .list_posts_state import ListPostsState
from .list_runs_status import ListRunsStatus
from .list_signals_state import ListSignalsState
from .list_sources_kind import ListSourcesKind
from .new_account import NewAccount
from .new_budget import NewBudget
from .new_destination import NewDestination
from .new_job_batch import NewJobBatch
from .new_job_classify_signal_job import NewJobClassifySignalJob
from .new_job_classify_signal_job_kind import NewJobClassifySignalJobKind
from .new_job_deliver_job import NewJobDeliverJob
from .new_job_deliver_job_kind import NewJobDeliverJobKind
from .new_job_export_lead_job import NewJobExportLeadJob
from .new_job_export_lead_job_kind import NewJobExportLeadJobKind
from .new_job_fetch_source_job import NewJobFetchSourceJob
from .new_job_fetch_source_job_kind import NewJobFetchSourceJobKind
from .new_job_http_request_job import NewJobHttpRequestJob
from .new_job_http_request_job_kind import NewJobHttpRequestJobKind
from .new_job_noop_job import NewJobNoopJob
from .new_job_noop_job_kind import NewJobNoopJobKind
from .new_job_publish_post_job import NewJobPublishPostJob
from .new_job_publish_post_job_kind import NewJobPublishPostJobKind
from .new_job_score_lead_job import NewJobScoreLeadJob
from .new_job_score_lead_job_kind import NewJobScoreLeadJobKind
from .new_key_created import NewKeyCreated
from .new_key_schema import NewKeySchema
from .new_partner import NewPartner
from .new_post import NewPost
from .new_post_media import NewPostMedia
from .new_ruleset import NewRuleset
from .new_ruleset_version import NewRulesetVersion
from .new_run import NewRun
from .new_schedule import NewSchedule
from .new_source import NewSource
from .new_subscription import NewSubscription
from .new_workflow import NewWorkflow
from .new_workflow_version import NewWorkflowVersion
from .noop_args import NoopArgs
from .noop_job import NoopJob
from .over_limit import OverLimit
from .partner import Partner
from .partner_list import PartnerList
from .post import Post
from .post_list import PostList
from .postback_result import PostbackResult
from .postback_schema import PostbackSchema
from .preview_item import PreviewItem
from .problem import Problem
from .problem_field import ProblemField
from .publish_post_args import PublishPostArgs
from .publish_post_job import PublishPostJob
from .push_batch import PushBatch
from .push_item import PushItem
from .queue_list import QueueList
from .queue_stats import QueueStats
from .quiet_hours import QuietHours
from .recover import Recover
from .recovered import Recovered
from .redeliver import Redeliver
from .redelivered import Redelivered
from .rejection_count import RejectionCount
from .revenue_day import RevenueDay
from .revenue_report import RevenueReport
from .role_name import RoleName
from .rotate_subscription_secret import RotateSubscriptionSecret
from .rule_term import RuleTerm
from .rule_thresholds import RuleThresholds
from .rules import Rules
from .ruleset import Ruleset
from .ruleset_list import RulesetList
from .ruleset_version import RulesetVersion
from .run import Run
from .run_event import RunEvent
from .run_list import RunList
from .run_progress import RunProgress
from .run_status import RunStatus
from .run_step import RunStep
from .run_step_jobs import RunStepJobs
from .schedule import Schedule
from .schedule_list import ScheduleList
from .schedule_patch import SchedulePatch
from .score_lead_args import ScoreLeadArgs
from .score_lead_job import ScoreLeadJob
from .signal import Signal
from .signal_page import SignalPage
from .signal_quality import SignalQuality
from .signal_quality_patch import SignalQualityPatch
from .signal_quality_settings import SignalQualitySettings
from .signal_state import SignalState
from .signal_transition import SignalTransition
from .source import Source
from .source_kind import SourceKind
from .source_page import SourcePage
from .source_patch import SourcePatch
from .source_preview import SourcePreview
from .state_counts import StateCounts
from .subscription import Subscription
from .subscription_list import SubscriptionList
from .subscription_patch import SubscriptionPatch
from .subscription_with_secret import SubscriptionWithSecret
from .tenant import Tenant
from .tenant_kind_limits import TenantKindLimits
from .tenant_patch_schema import TenantPatchSchema
from .throttle import Throttle
from .webhook import Webhook
from .webhook_secret import WebhookSecret
from .worker import Worker
from .worker_list import WorkerList
from .workflow import Workflow
from .workflow_definition import WorkflowDefinition
from .workflow_list import WorkflowList
from .workflow_step import WorkflowStep
from .workflow_step_concurrency import WorkflowStepConcurrency

__all__ = (
    "Account",
    "AccountList",
    "AccountPatch",
    "AlertRule",
    "AlertRuleList",
    "AlertRuleSpec",
    "AttemptError",
    "AuditEntry",
    "AuditPage",
    "Budget",
    "BudgetAlert",
    "BudgetChanged",
    "BudgetDeleted",
    "BudgetLeft",
    "BudgetList",
    "BudgetPatch",
    "BudgetPeriod",
    "CatchUp",
    "Classification",
    "ClassificationList",
    "ClassifySignalArgs",
    "ClassifySignalJob",
    "Concurrency",
    "ConcurrencyKeyStats",
    "CostEntry",
    "CostPage",
    "CostTotals",
    "CreatedDestination",
    "CreatedPartner",
    "Debounce",
    "DeliverArgs",
    "DeliverJob",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryPage",
    "Destination",
    "DestinationList",
    "DestinationPatch",
    "DestinationTest",
    "EconomicsBreach",
    "EconomicsFigures",
    "EconomicsGroup",
    "EconomicsReport",
    "EconomicsRevenue",
    "EconomicsWatch",
    "EconomicsWatchSpec",
    "Engagement",
    "EraseAuthor",
    "Erased",
    "Estimate",
    "EstimateBasis",
    "EstimateRequest",
    "ExpectedRevenue",
    "Export",
    "ExportEconomicsGroupBy",
    "ExportEnqueued",
    "ExportLeadArgs",
    "ExportLeadJob",
    "ExportLeadsStatus",
    "ExportList",
    "ExportSignalsFormat",
    "ExportSignalsState",
    "FetchSourceArgs",
    "FetchSourceJob",
    "FleetSnapshot",
    "Forecast",
    "ForecastBasis",
    "GdprErased",
    "GdprExport",
    "GdprSubject",
    "GetEconomicsGroupBy",
    "Host",
    "HostList",
    "HttpMethod",
    "HttpRequestArgs",
    "HttpRequestArgsHeaders",
    "HttpRequestJob",
    "IngestReport",
    "IngestReportRejected",
    "Job",
    "JobKind",
    "JobList",
    "JobPage",
    "JobState",
    "Key",
    "KeyList",
    "Lead",
    "LeadContact",
    "LeadDetail",
    "LeadFactor",
    "LeadPage",
    "LeadSettings",
    "LeadSettingsPatch",
    "LeadSignal",
    "LeadStatus",
    "LeadStatusChange",
    "ListCostsEntry",
    "ListDeliveriesState",
    "ListJobsKind",
    "ListLeadsStatus",
    "ListPostsState",
    "ListRunsStatus",
    "ListSignalsState",
    "ListSourcesKind",
    "NewAccount",
    "NewBudget",
    "NewDestination",
    "NewJobBatch",
    "NewJobClassifySignalJob",
    "NewJobClassifySignalJobKind",
    "NewJobDeliverJob",
    "NewJobDeliverJobKind",
    "NewJobExportLeadJob",
    "NewJobExportLeadJobKind",
    "NewJobFetchSourceJob",
    "NewJobFetchSourceJobKind",
    "NewJobHttpRequestJob",
    "NewJobHttpRequestJobKind",
    "NewJobNoopJob",
    "NewJobNoopJobKind",
    "NewJobPublishPostJob",
    "NewJobPublishPostJobKind",
    "NewJobScoreLeadJob",
    "NewJobScoreLeadJobKind",
    "NewKeyCreated",
    "NewKeySchema",
    "NewPartner",
    "NewPost",
    "NewPostMedia",
    "NewRuleset",
    "NewRulesetVersion",
    "NewRun",
    "NewSchedule",
    "NewSource",
    "NewSubscription",
    "NewWorkflow",
    "NewWorkflowVersion",
    "NoopArgs",
    "NoopJob",
    "OverLimit",
    "Partner",
    "PartnerList",
    "Post",
    "PostbackResult",
    "PostbackSchema",
    "PostList",
    "PreviewItem",
    "Problem",
    "ProblemField",
    "PublishPostArgs",
    "PublishPostJob",
    "PushBatch",
    "PushItem",
    "QueueList",
    "QueueStats",
    "QuietHours",
    "Recover",
    "Recovered",
    "Redeliver",
    "Redelivered",
    "RejectionCount",
    "RevenueDay",
    "RevenueReport",
    "RoleName",
    "RotateSubscriptionSecret",
    "Rules",
    "Ruleset",
    "RulesetList",
    "RulesetVersion",
    "RuleTerm",
    "RuleThresholds",
    "Run",
    "RunEvent",
    "RunList",
    "RunProgress",
    "RunStatus",
    "RunStep",
    "RunStepJobs",
    "Schedule",
    "ScheduleList",
    "SchedulePatch",
    "ScoreLeadArgs",
    "ScoreLeadJob",
    "Signal",
    "SignalPage",
    "SignalQuality",
    "SignalQualityPatch",
    "SignalQualitySettings",
    "SignalState",
    "SignalTransition",
    "Source",
    "SourceKind",
    "SourcePage",
    "SourcePatch",
    "SourcePreview",
    "StateCounts",
    "Subscription",
    "SubscriptionList",
    "SubscriptionPatch",
    "SubscriptionWithSecret",
    "Tenant",
    "TenantKindLimits",
    "TenantPatchSchema",
    "Throttle",
    "Webhook",
    "WebhookSecret",
    "Worker",
    "WorkerList",
    "Workflow",
    "WorkflowDefinition",
    "WorkflowList",
    "WorkflowStep",
    "WorkflowStepConcurrency",
)

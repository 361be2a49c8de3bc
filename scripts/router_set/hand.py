"""Hand-written prompts of the router's labelled set, per chat agent and tier (one per line).

Labelled by the rubric in docs/cost-tracking-guide.md: which model a cost-conscious team would
want answering.
  simple:  a lookup, list, count, status or one-field change (a note, a stage, a step done),
           greetings and thanks, whatever nouns the ask contains ("show the risk analysis").
  medium:  a short draft, rewrite, translation, recap or single-step judgement over one record.
  complex: multi-step analysis, strategy, trade-offs across several inputs, plans, diagnoses,
           decisions with consequences ("should we discount Globex or walk?").
"""

SR_BDR_SIMPLE = """
Show me top 3 leads
top 10 leads pls
list hot leads in fintech
who's the main contact at Globex?
what's Initech's website
how many leads did we add this week?
find leads in healthcare with more than 500 employees
show lead 42
what's the score on lead 17
Add a note to lead 2: asked for pricing, call back Friday
log a note on Hooli - left voicemail, try again tues
any new leads since yesterday?
whats the email for the VP sales at Vandelay
pull up everything we have on TechCorp
show me the qualification reasoning for lead 8
Show the ICP fit analysis for lead 12
which leads are warm right now?
list leads I haven't contacted in 30 days
What industry is Umbrella in?
when did we last touch Stark Industries?
lead 5 status?
mark lead 9 as contacted
change lead 14's status to disqualified
How many hot leads do we have in Europe?
show me the strategy notes on Wayne Enterprises
get me Priya's phone number at Cyberdyne
thanks!
hi there
ok next 5
what's in the enrichment summary for Pied Piper?
sort my leads by score, highest first
is lead 33 already attached to a deal?
who owns the Wonka lead?
show leads that came from the hubspot import
count of leads by tier?
list leads without an email address
Can you look up Massive Dynamic for me?
hey, what's the employee count for Soylent?
Where is Aperture based?
show me leads in the Nordics
What's the lead score breakdown for lead 21?
set lead 11's owner to Jordan
update lead 7's email to dana@globex.com
Find me the CTO at Tyrell
list every lead tagged webinar
do we have anyone at Oscorp in the CRM?
show the objections we logged for Nakatomi
which leads did I talk to last week
how many leads are unqualified
show top 5 saas leads in north america
pls show the notes on lead 3
what title does Miguel at Initech have
got it, thanks
How big is the Globex sales team?
What do we know about TechCorp?
Add a note to lead 40: sent the deck, waiting on legal
which of my leads are in logistics?
Is Hooli's lead marked hot or warm?
list the leads Jordan added yesterday
show me the last note on lead 6
What's the LinkedIn for Chen Wei at Cyberdyne?
how many of my leads have a phone number
good morning
any leads from Germany?
show lead 12's competitive analysis
who at Umbrella did we email last?
put lead 19 back to new
Show the outreach plan we saved for lead 4
"""

SR_BDR_MEDIUM = """
Draft an intro email to lead 4
write a short follow-up to Sarah at Acme about pricing
give me 3 subject lines for a cold email to Globex's CTO
polish my opener for the Hooli call: "Hi, I'm calling because we help teams like yours save time"
reword this so it sounds less salesy: "We are the number one platform and you need us"
translate this into German: "Thanks for your time today, I'll send the proposal by Friday."
recap what we know about TechCorp in 3 bullets
summarize lead 12 for me before my call
Is Initech a good fit for our ICP?
should I call or email lead 7 first?
explain why lead 8 only scored 62
write a LinkedIn connection note for Dana at Globex
suggest a call opener for the CFO at Vandelay
draft a breakup email for lead 19, they've gone dark
write two versions of a cold email to fintech CFOs, one formal and one casual
give me three talking points for my call with Stark tomorrow
what objections might the Umbrella CTO raise on our first call?
personalize our standard intro template for Wonka
write a voicemail script for lead 25, under 20 seconds
draft a thank-you note after the demo with Pied Piper
Give me 3 options for a follow-up after no reply from Massive Dynamic
Can you write a quick intro to Soylent mentioning their new Berlin office?
rewrite my note on lead 6 so my manager can read it
Tell me in two sentences why Aperture might care about us
what's a good angle for reaching out to Tyrell's head of ops?
Turn these notes into a follow-up email: demo went well, they want SSO, pricing next week
write a one-line reason to call Oscorp today
draft a reply to Nakatomi saying we can do a call Thursday at 2
Which of lead 4's pain points should I lead with?
Suggest a next step for lead 15
explain what "warm" means in our scoring, briefly
summarize the last three notes on lead 9
draft a meeting request to Chen Wei at Cyberdyne for next week
help me word a polite nudge to Priya, she said she'd get back to me Monday
recap my call with Globex: budget ok, timing Q3, needs CFO sign-off
Translate the Hooli intro email into Spanish
turn this into bullet points for the CRM: spoke w/ Lars, they use a spreadsheet, 12 reps, hate manual entry, want a trial
draft a short text reminder for tomorrow's call with Jordan
can you make my cold email sound more human? "Dear Sir/Madam, I am reaching out to introduce our solution"
Write a referral ask to our champion at Wayne for an intro to their sister company
Is lead 27 worth a call this week or should I let it nurture?
what would you say to a prospect who says "just send me info"?
write an email to lead 30 that references their Series B
give me a 30-second elevator pitch for a logistics VP
draft an apology for missing the call with Umbrella this morning
Rewrite this subject line 3 ways: "Quick question"
explain the difference between lead 3's and lead 4's scores
Draft an intro email to the VP Sales at Globex mentioning their hiring spree
pls draft a quick email to lead 8 re: pricing
can u summarise whats going on with hooli
what should I ask in discovery with TechCorp?
Draft a note for lead 12 summarising today's call: they want a pilot in May
make my LinkedIn message to Aisha less formal
write a cold email for lead 22 in under 80 words
give me 2 openers for a cold call to a CFO who hates cold calls
how should I reply when Globex says they already have a vendor?
Rephrase this so it doesn't sound like a template: "I hope this email finds you well"
sum up lead 5 in one line for my manager
Can you proofread this before I send it? "Hi Miguel, great chatting yesterday, as promised heres the deck and the pricing, let me know you're thoughts"
draft an invite to our webinar for lead 11
Is lead 16 a decision maker or should I find someone else there?
write a follow up to Fatima after she downloaded the whitepaper
"""

SR_BDR_COMPLEX = """
Look at my open leads and build me a prioritized call plan for this week, with a reason for each
Which segments should we focus outbound on next quarter and why, based on our win rates and pipeline?
Design a 5-touch sequence for healthcare CTOs with a different angle per step and tell me how to measure it
Compare Globex, Initech and Hooli as targets and tell me where to spend my limited time
our reply rates dropped from 8% to 3% since we switched templates. what's going on and what should we change?
I'm meeting Stark's CFO, CTO and head of procurement together and they all want different things. How do I run the meeting?
should we even go after Wayne Enterprises given they just signed with a competitor and their budget cycle is in Q3?
Build an account plan for Cyberdyne: stakeholders, entry points, risks and a 90-day plan
How should I split my week between the inbound flood and my 20 strategic accounts?
what's the best way to break into Umbrella when the last two reps got nowhere with IT?
We keep losing fintech leads after the demo. Why, and what do we change in our approach?
Given my 12 hot leads, which three should get the free pilot offer and why?
Map out a multi-threading strategy for the Massive Dynamic opportunity, we only know one engineer there
I've got 60 leads from the conference; how do I triage them, sequence follow-ups and hand off the best ones?
what would an ABM plan for our top 10 healthcare accounts look like?
Tyrell ghosted after the pricing call, the champion went quiet and a competitor is in. what's my play?
Go through leads 4, 9 and 15 and tell me which is most likely to convert, how to approach each, and what to skip
my pipeline is thin for next quarter. put together a plan to get 40 qualified meetings in 6 weeks
Should I keep chasing Oscorp or drop them? 5 meetings, no budget yet, but a huge logo
why are my connect rates so much worse than Jordan's, and what should I copy from her approach?
rank my leads by likelihood to close this quarter and explain the trade-offs of only working the top ones
Nakatomi wants a custom integration before they'll talk pricing. Is it worth it, and how do I structure the conversation?
help me figure out whether to target smaller SaaS companies or stay mid-market: pros, cons, numbers
Work out a plan to re-engage the 30 leads that went cold last quarter without burning them
what's wrong with our qualification criteria? half of our "hot" leads never take a meeting
Plan my outreach to Globex: who to contact first, what to say to each persona, and what to do if nobody responds
The VP at Aperture loves us but procurement wants three quotes and the CFO hates new vendors. how do I get this through?
Compare our sequences for fintech vs healthcare and recommend which one to scale
given that Soylent is consolidating vendors and we're the smallest one, how do we avoid getting cut?
what's the smartest use of my last two weeks of the quarter: chase late-stage leads or build pipeline for next quarter?
build me a territory plan for the Nordics: which accounts, in which order, with what messaging
we have budget for one event next quarter; which one gives us the best pipeline and why?
put together a full outbound campaign for Series B fintechs: targeting, 4 emails, a call script and success metrics
Figure out why lead 8 scored hot but bounced, then fix our scoring rules so it doesn't happen again
Wonka's CEO replied "interesting, but not now". Read that against everything we know and plan the next 3 months
if you were me with 15 leads and 10 hours this week, which leads would you work and what would you do?
should we offer Pied Piper a discount to sign before their funding round closes, or wait?
how do i get to the economic buyer at Hooli when my champion is a junior engineer who guards the relationship?
what's the plan if Initech picks the competitor? stay close, offer a pilot, or move on?
go through my last 50 outbound emails and tell me what's working and what isn't
Our ICP says 50 to 5000 employees but most wins are 200 to 800. Should we change it and what would we lose?
im taking over Dana's territory tomorrow, 45 leads, no notes on half of them. how do I get up to speed without dropping anything?
what's the best approach for a company that tried us and churned two years ago, like Massive Dynamic?
think through whether we should pursue the Stark RFP: we'd need a partner, the legal terms are tough, but it's $400k
Which of my leads overlap with accounts CS already manages, and how do we coordinate so we don't step on each other?
I have two demos booked at the same time tomorrow, Globex (big, early stage) and Hooli (small, ready to buy). which do I keep and how do I handle the other?
what's going on with lead 8? they opened every email, clicked pricing twice, but never reply. what should I try next and in what order?
Help me decide between hiring another BDR or buying a data tool with the same budget
we got 3 inbound leads from the same company in a week, all different departments. how do we play this?
should I go over my champion's head at Vandelay? she's blocking the meeting with the CFO but says she supports us
"""

PIPELINE_SIMPLE = """
Which deals are stalled?
Move deal 3 to negotiation
Move deal 7 to negotiation
show the risk analysis on deal 19
what's the total value in proposal?
how many deals closed won this quarter
list deals over 50k closing this month
who owns deal 12?
mark deal 8 closed lost
set the close date on deal 4 to March 31
what stage is the Globex deal in
show at-risk deals
deals in negotiation?
show me the forecast report
pull up the strategy notes on deal 5
what's the amount on the Initech opportunity?
any open deals for Hooli?
which deals haven't moved in 30 days
how many deals are in prospecting
list my deals sorted by close date
pipeline by stage pls
what's our total open pipeline?
move Vandelay to closed won!!
push deal 11 back to qualification
show deal 9
when is the Umbrella deal expected to close?
list all deals for lead 14
how many deals did we lose last month?
What's the win rate this quarter?
show the negotiation history on deal 22
What's the biggest deal in the pipeline?
deals closing next week?
change the amount on deal 6 to 42,000
Show me the blockers logged on deal 1
what's the weighted pipeline for Q3
list closed lost deals with reason price
show me deals with no next step
who's the champion on the Stark deal?
count of deals per owner
move deals 4 and 5 to proposal
any deals stuck in negotiation for more than 60 days?
thx
what's the status of the TechCorp deal
show the competitor field for deal 17
what did we forecast for this month?
show me the deal review from last Tuesday
Rename deal 13 to "Acme expansion 2027"
Summarise the pipeline
which deals are at risk?
show the pricing strategy doc attached to deal 3
whats the close probability on deal 10
list deals owned by Priya
Which stage has the most deals?
show won deals this year
how much is in commit this month?
set deal 18's next step to "send MSA"
is deal 14 still open?
show me the deal for Wonka
average deal size this quarter?
"""

PIPELINE_MEDIUM = """
summarize deal 14's history for my 1:1
draft a nudge to the Globex champion about the unsigned order form
why did deal 9 slip to next quarter?
is deal 22 likely to close this month?
write the Acme deal update for the forecast call, 3 sentences
suggest the next step for deal 6
recap yesterday's negotiation call with Initech: they want 12% off, legal is reviewing the MSA, decision by the 20th
give me 3 options for replying to Globex asking for 20% off
should deal 11 stay in proposal or go back to qualification now that they've paused?
explain the difference between commit and best case in our forecast
turn these bullets into a deal review paragraph: champion strong, budget approved, security review pending, close on the 30th
Summarise the pipeline for my Monday update email
what's the main risk on the Hooli deal?
Draft a mutual action plan email to Stark covering the last 3 steps
Is the close date on deal 5 realistic?
write a short internal note explaining why we're moving Umbrella back to proposal
explain why deal 3 is flagged at risk
draft a follow-up to procurement at Wayne asking for the PO number
give me a 2-line summary of each deal in negotiation
what's the next best action on the Vandelay deal?
how should I respond to Initech's "we need to think about it"?
Write a recap of the Globex call for the deal record
does deal 12 have enough to move to proposal?
Rewrite the next-step field on deal 8 so it's specific and dated
tell me in plain words what's holding up deal 20
draft an email to our VP asking for approval on a 10% discount for TechCorp
is a 5% discount reasonable for the Soylent renewal?
summarize what changed in the pipeline since last week
write a slack message to the SE team asking for help with deal 7's security questionnaire
what does "stalled" mean in this tool?
Give me 3 options for a closing question on the Aperture call tomorrow
Draft the loss note for deal 21, we lost on price to a cheaper vendor
can u sum up whats blocking the wonka deal
what should the next step on deal 15 be, given they asked for a reference?
help me phrase the ask for a 2-year commit to Hooli
explain what happens to this month's forecast if deal 4 slips
Should I loop in my manager on the Oscorp deal yet?
summarise deal 2 in one paragraph for the handoff to CS
draft a follow up after the pricing call with Nakatomi
whats the likely reason Massive Dynamic went quiet after the proposal?
write a two-sentence win announcement for the Vandelay deal
Translate the proposal cover note for Stark into French
Can you reword the close plan on deal 16 so the customer can see it?
draft a reminder to Cyberdyne that the quote expires Friday
How confident should I be in deal 19 closing, honestly?
write a calendar invite description for the Tyrell negotiation call
put the Globex deal's status into 3 bullets for my VP
what's a fair next step to propose to Umbrella after the demo?
Give me 3 ways to word the price increase to Hooli
"""

PIPELINE_COMPLEX = """
Analyze the blockers on deal 1 and recommend a strategy
should we discount Globex or walk?
what would it take to get Initech over the line this month given legal is stuck?
we're 30% behind on Q3. which deals can realistically close and what do we do to pull them in?
Forecast next quarter from the current pipeline and tell me where the risk is
compare our win rates by segment and tell me where we're losing and why
Acme, Hooli and Stark all want our only SE this week. how do I prioritize?
Hooli has a new CFO, a budget freeze and a competitor offering 40% less. What's our play?
Build a plan to clean up the pipeline: what to close out, what to push, and what to escalate
Globex wants net-90, a 3-year lock and 15% off; finance caps us at 10%. How do I structure a counter?
why is our average sales cycle up from 45 to 70 days?
Which 5 deals should get exec sponsorship this quarter and why?
Review every deal in negotiation and tell me which are real, which are stuck, and what to do about each
what's our path to 2M this quarter if Umbrella slips?
Stark's champion just left and the deal is 300k in negotiation. Walk me through how to save it.
Do we push Wayne to sign this quarter with a discount or let it close clean next quarter at full price? Think about our quota and their budget cycle.
Our proposal-to-close rate halved since January. Diagnose it and propose fixes.
Build me a deal strategy for TechCorp: stakeholders, competition, pricing, timeline
if we can only keep 3 of our 8 stalled deals alive, which ones and why?
Should we accept Vandelay's redlines on liability? It's a 500k deal but the terms set a precedent
look at the whole pipeline for concentration risk and tell me what to do about it
what's the best negotiation approach with Initech's procurement, who always asks for 3 rounds of discounts?
plan the last two weeks of the quarter: which deals to push, which to let slip, and who does what
are we overforecasting? compare commit vs actual for the last 3 quarters and tell me how to fix our process
Cyberdyne asked for a pilot, a discount and a custom SLA. What do we give and what do we hold back?
How do I get a 6-month stalled deal with Soylent moving again when the sponsor keeps rescheduling?
Look at deals 3, 7 and 12 and tell me which is most likely to close, what's blocking each, and a plan for each
Our biggest competitor just cut prices 30%. How should we adjust our open deals?
What should our pipeline coverage be next quarter and how do we get there from 2.1x?
is it smarter to chase the big Massive Dynamic deal or the three mid-size ones this month?
the board wants a realistic forecast by Friday. build it from the pipeline with best and worst cases
the Aperture deal got pushed to legal, procurement and security at once. sequence it so we still close by the 30th
What's going wrong with partner-sourced deals? They close at half the rate.
Nakatomi wants to split the deal into two phases. Is that good for us? Lay out the options.
Wonka's CFO wants to cut seats from 200 to 120 at signing. accept, counter, or walk?
help me rebuild our stage definitions so the forecast stops lying to us
70% of our pipeline comes from two reps. what's the risk and what do I do about it?
how do I run the QBR pipeline review so we actually decide things, with 40 deals and 6 reps?
Oscorp legal wants unlimited liability and we have 9 days left in the quarter. what are my options and which do you recommend?
I need to cut my forecast by 400k without losing credibility with the VP. Which deals, and how do I explain it?
Do we give Globex the 20% they want to close before quarter end, knowing they renew next year?
how do I stop deals dying in the proposal stage?
Initech says yes verbally but won't sign for 3 weeks. Should I discount to pull it in, or hold?
two of our largest deals share the same decision maker who just went on leave. what now?
what would you cut from the pipeline if you had to be honest with the CRO tomorrow?
Should we bundle implementation for free to win Stark, given services are already overloaded?
deal 7 has been "closing next week" for 6 weeks. what's really going on and how do I force a decision?
"""

CS_SIMPLE = """
Which accounts did we win?
show the onboarding checklist for lead 5
mark the kickoff step done for Acme
How healthy is the Acme account?
what's the renewal date for Globex?
list accounts with overdue onboarding steps
add a note to Hooli: CSM changed to Dana
who's the CSM on Initech
how many accounts are at risk?
show the churn risk analysis for Vandelay
what's left on Umbrella's onboarding?
health score for Stark?
tick off "SSO configured" for TechCorp
when did we last talk to Wonka?
list won accounts from this quarter
show me the renewal risk report
mark training complete for lead 22
show the health breakdown for Cyberdyne
what onboarding step is Soylent on?
which accounts haven't had a check-in in 60 days?
how many accounts are still onboarding?
log a note on Massive Dynamic: renewal call booked for the 14th
show the success plan for Aperture
who's the exec sponsor at Tyrell?
list accounts renewing next quarter
what's Oscorp's contract value?
complete the data import step for lead 31
show me account health for all won accounts
is Nakatomi done with onboarding?
what did the last QBR note for Pied Piper say
ok thanks
show accounts with health below 50
show the risk assessment we ran on Globex last week
when is Initech's renewal
mark step 3 done for Hooli
which accounts have open escalations?
how many won accounts do we have in fintech
show onboarding progress for every account
update Wayne's CSM to Priya
What's the NPS on the Vandelay account?
show me the notes for lead 9
list accounts where the champion left
good morning!
what's the go-live date for Stark?
which onboarding steps are done for Globex?
show the expansion analysis on Hooli
add a note to Umbrella: sent the training recording
How many seats does TechCorp have?
who signed the Cyberdyne contract?
is the SSO step done for Acme?
list accounts with no exec sponsor
mark Wonka's admin training as done
show health trend for Soylent
"""

CS_MEDIUM = """
Draft a check-in message for Acme
write a friendly renewal reminder to Globex
summarize Hooli's onboarding status for the weekly update
is Initech at risk of churning?
give me 3 options for an upsell opener for Stark
explain TechCorp's health score
what should I say to Wonka's sponsor about the delayed SSO step?
draft a welcome email for Soylent's new admin
write a short note thanking Cyberdyne for the case study
summarize where Aperture is with onboarding in 2 sentences
draft an agenda for the Tyrell QBR
Turn these call notes into a customer-facing recap: they love the reporting, SSO still broken, want training for 10 more users
what's the main thing dragging down Oscorp's health?
Is Nakatomi ready for an upsell conversation?
draft a nudge to Pied Piper about the overdue data import step
explain in plain words why Massive Dynamic is flagged at risk
write a one-year anniversary message for our first customer, Acme
give me talking points for a check-in with Globex's new admin
help me word an email asking Hooli for a reference
recap Wayne's onboarding for the handoff to the new CSM
Should I escalate Umbrella's SSO issue to engineering now or wait for the next sprint?
draft a short survey invite for our top accounts
what's a good next step for the Initech account?
Write a reply to Stark's request to delay their renewal by a month, we're ok with 2 weeks
translate Vandelay's onboarding checklist into Portuguese
is TechCorp healthy enough to ask for a case study?
draft a short note to Wonka's exec sponsor introducing their new CSM
Give me 3 subject lines for the renewal email to Soylent
reword the health summary for Cyberdyne so the customer can see it
what questions should I ask in Aperture's 90-day review?
pls write a quick thank you to tyrell for the renewal
how would you describe Oscorp's adoption in one line?
draft a check in msg for nakatomi, they went quiet after kickoff
write the release-notes email for Globex about the new reporting feature
recap the last three notes on Vandelay
summarise the last QBR with Hooli in 4 bullets
explain what "at risk" means in our health model
draft a reply to Acme's complaint about slow support, apologetic but firm
Is it a good time to ask Stark about expansion?
write a congratulations note to Cyberdyne on going live
how should I answer Umbrella asking why the price went up?
draft the onboarding kickoff email for Tyrell
give me 2 versions of a renewal reminder for Initech, one short one detailed
turn the Pied Piper training notes into a checklist for them
write a LinkedIn post thanking Wonka for the partnership
"""

CS_COMPLEX = """
Vandelay's onboarding is 6 weeks behind, the partner blames us, the sponsor is impatient. how do I recover this?
which accounts are most likely to churn this quarter and what's the retention plan for each?
build a renewal strategy for Globex: usage down 30%, champion left, they're evaluating a competitor
design an enterprise onboarding playbook based on what went wrong with Hooli and Initech
compare health across our top 10 accounts and tell me where to spend CSM time
Acme wants to expand to 3 more teams but the current team is unhappy with support. push the expansion now or fix things first?
our NRR dropped from 112 to 98. diagnose why and propose fixes
Stark's renewal is in 45 days, their new exec sponsor asked for a 25% cut. What's the plan?
How do we turn Umbrella from a detractor into a reference in 6 months?
We have 3 CSMs and 40 accounts. How should we segment and allocate them?
Why do our fintech accounts churn twice as often as healthcare ones, and what do we change?
TechCorp is healthy on paper but usage is concentrated in one team and the champion is leaving. What do we do?
build a QBR narrative for Wonka that justifies a price increase
Prioritize the five accounts with overdue onboarding and give me a recovery plan for each
what should our expansion strategy for existing customers be next year?
Cyberdyne's CTO says we "don't get their business". Figure out what went wrong and how to win them back
should we offer Soylent free services to save the renewal, or let them downgrade?
Aperture wants custom features to renew. What do we promise, what do we push back on, and how do we frame it?
put together a 90-day success plan for Tyrell with milestones, risks and owners
onboarding time went from 30 to 55 days this year. diagnose it across accounts and tell me what to fix first
Nakatomi is merging with a company that uses a competitor. How do we protect the account?
Should we move Pied Piper to partner-led support? weigh cost, risk and how they'd take it
Plan next quarter's renewals: who's safe, who's at risk, and what we do for each
Oscorp's health dropped from 80 to 45 in a month. What happened and what's the plan?
How do I handle an angry exec at Massive Dynamic who wants to cancel mid-contract when the contract says no?
Design a health score that predicts churn better than ours: which signals, what weights, how to validate it
Which accounts should we target for upsell this quarter, in what order, and with what offer?
Globex and Hooli both want the same custom integration. Should we build it, charge for it, or refuse?
Who should be on our customer advisory board, how do we run it, and what do we want out of it?
what would you do about Initech, where onboarding stalled because their IT team was reorganised and nobody owns us?
I'm new in CS here. Look at our won accounts and tell me where the fires are and what to do first
Acme, Globex and Stark all renew in March. How do I sequence the conversations and what's the risk in each?
should we raise prices on renewals this year, and for which accounts would it backfire?
usage at Hooli fell off a cliff after their reorg. is this churn coming, and what's the play?
what's the right way to handle Wonka asking for a refund on unused seats, without setting a precedent for everyone else?
we promised Umbrella a feature that slipped two quarters. how do we manage the fallout and the renewal?
help me build a case to leadership for a second onboarding specialist, using what's happening in our accounts
Vandelay wants to cut their contract in half but add a new product line. is that good or bad for us?
"""

# Long requests with pasted context: the ask decides the tier, not the length.
PASTED = [
    (
        "sr_bdr",
        "simple",
        """Add this to lead 14 as a note:

Call w/ Miguel (Initech), 12 min. They use Salesforce + spreadsheets. 14 reps, growing to 20 by
Q3. Pain: reps spend Fridays on reporting. Budget owner is the CRO (Hannah). Wants pricing by
email, then a demo for the team leads. Follow up Tuesday.""",
    ),
    (
        "sr_bdr",
        "simple",
        """whats the phone number in this signature?

--
Priya Patel | Head of Revenue Operations
Cyberdyne Systems
+1 415 555 0134 | priya.patel@cyberdyne.example
"Make every forecast count\"""",
    ),
    (
        "sr_bdr",
        "medium",
        """Can you turn these notes into a follow-up email to Dana?

- great call, she liked the forecasting view
- worried about migration from their old CRM
- wants a reference customer in logistics
- next step: demo for her team leads, week of the 12th""",
    ),
    (
        "sr_bdr",
        "medium",
        """reword this so it's less pushy:

"Hi Jordan, I've emailed you three times now and haven't heard back. I really need 15 minutes
of your time this week to show you how we can fix your pipeline problems. When works?\"""",
    ),
    (
        "sr_bdr",
        "medium",
        """translate into French please:

Hello Camille, thank you for the call today. As discussed, I'm sending the case study from a
logistics customer of similar size and a short summary of our pricing. Would Thursday at 10
work for a demo with your team?""",
    ),
    (
        "sr_bdr",
        "complex",
        """Here's everything from the last three calls with Globex:

Call 1 (Jan 8): Dana (RevOps) interested, pain is forecast accuracy, 40 reps.
Call 2 (Jan 22): Dana brought the CRO. CRO skeptical, they tried a tool like ours in 2023 and
reps never used it. Wants proof of adoption.
Call 3 (Feb 5): IT joined. Concerned about Salesforce permissions and data residency (EU).
Procurement will need two more quotes. Budget exists but is "shared with another initiative".

Where does this really stand, what are the risks, and what should our plan be to get a signed
pilot by the end of March?""",
    ),
    (
        "sr_bdr",
        "complex",
        """From the CRM export:
lead 4  Hooli       fintech    score 81  last touch 3d   no meeting
lead 9  Acme        saas       score 77  last touch 21d  demo done
lead 15 Vandelay    logistics  score 64  last touch 2d   meeting Thu
lead 22 Umbrella    healthcare score 90  last touch 45d  champion left
lead 31 Soylent     retail     score 55  last touch 7d   asked for pricing

I can only work three of these properly this week. Which three, why, and what exactly do I do
with each?""",
    ),
    (
        "pipeline_manager",
        "simple",
        """move this one to negotiation: deal 7 (Initech, 84k, owner Priya). They signed off on the
proposal this morning.""",
    ),
    (
        "pipeline_manager",
        "simple",
        """What's the close date on the deal in this email?

> Hi team, quick update on Stark: procurement confirmed, we're targeting signature on the
> 28th, PO to follow within a week of that. - Jordan""",
    ),
    (
        "pipeline_manager",
        "medium",
        """Summarise this for the deal record:

Negotiation call, Initech, 45 min. Attendees: Miguel (champion), Hannah (CRO), Raj (legal).
They accept the 3-year term but want 12% off year one. Legal is still reviewing our MSA,
specifically liability caps and the DPA. Hannah wants a decision by the 20th. Miguel thinks
the CFO will sign if the discount is framed as a ramp.""",
    ),
    (
        "pipeline_manager",
        "medium",
        """can you polish this deal update before I send it to the VP?

acme update - still in proposal, champion says budget is there but CFO hasn't seen it yet,
we're trying to get on his calendar, close date might slip to next month, amount unchanged
at 120k, no competitor that we know of""",
    ),
    (
        "pipeline_manager",
        "complex",
        """Context for the Hooli deal:
- 250k ARR, in negotiation since October
- new CFO started in January and froze all new vendor spend above 100k
- competitor offered 40% less with a 1-year term
- our champion (Olu, VP Ops) is still strong but has no budget authority now
- we have until March 31 for it to count this year

Options I see: discount hard, split into a smaller phase 1 under 100k, or wait for the freeze
to lift. What should we do, and how do we pitch it to the CFO?""",
    ),
    (
        "pipeline_manager",
        "complex",
        """Pipeline as of today:
prospecting 14 deals 1.1M
qualification 9 deals 820k
proposal 7 deals 960k
negotiation 4 deals 610k
Quota for the quarter is 1.4M, we've closed 380k, 5 weeks left.

Are we going to make it? If not, what's the gap and what do we do in the next 5 weeks?""",
    ),
    (
        "customer_success",
        "simple",
        """log this on the Wonka account:

QBR done 14 Feb. Attendees: Fatima (sponsor), Lars (admin). Usage up 18%. They asked about
the API limits and want the next QBR in May.""",
    ),
    (
        "customer_success",
        "medium",
        """Write a reply to this:

"Hi, we've had the SSO issue open for three weeks now and my team still can't log in without
a workaround. Honestly this isn't what we were promised during the sale. Can someone tell me
when this will actually be fixed? - Chen, IT Director, Umbrella\"""",
    ),
    (
        "customer_success",
        "medium",
        """make this check-in sound warmer and shorter:

Dear Aperture team, this is a reminder that your onboarding is currently behind schedule. The
following steps are still outstanding: data import, admin training, SSO configuration. Please
complete them at your earliest convenience so that we can proceed.""",
    ),
    (
        "customer_success",
        "complex",
        """Background on Stark:
- renewal in 45 days, 180k ARR
- new exec sponsor (Tom) since December, asked for a 25% cut "to align with budget"
- usage: 70% of seats active, but the ops team (40 seats) barely logs in
- two open escalations about reporting speed
- their old sponsor moved to a company that's evaluating us

How should we approach this renewal? I need a plan for the next six weeks, what we offer and
what we don't.""",
    ),
    (
        "customer_success",
        "complex",
        """Health report, bottom five accounts:
Oscorp 45 (down from 80), no login from admin in 3 weeks
Hooli 52, usage concentrated in one team
Initech 48, onboarding stalled, IT reorg
Massive Dynamic 39, exec wants to cancel
Soylent 55, asked about downgrading

I have one CSM free for the next month. Where should she go and what should she do there?""",
    ),
]

# A second pass, written against the confusions a keyword router makes: nouns such as
# "analysis", "strategy", "email" or "plan" inside lookups; "can you" and "explain" asks;
# judgement on one record vs. decisions with consequences.
SR_BDR_SIMPLE += """
Can you find the email address for Globex's CFO?
can you show me lead 18
do we have a strategy doc for Hooli? show it
Show me the email we sent to Initech last week
list the leads with a campaign plan attached
pull the analysis column for my top 10 leads
what's the risk score on lead 7
Which leads came from the pricing page?
how many leads replied to the March sequence?
set the next follow-up date on lead 3 to Monday
tag lead 26 as conference
which leads have I emailed today
is lead 10 in the nurture sequence?
number of leads assigned to me?
remind me who the champion is at Stark
"""

SR_BDR_MEDIUM += """
explain what the qualification score means for this lead
Can you explain why lead 12 is marked cold?
can you draft something short for Priya to reschedule our call?
Rewrite my intro so it's about them, not us: "We are a leading provider of revenue software"
suggest a better subject line than "Following up"
is Globex's new CTO worth reaching out to, based on what we have?
What's the best channel to reach lead 9, email or phone?
write a short P.S. for my email to Hooli mentioning the case study
recap lead 20's history in a few lines for the handoff to Jordan
turn "call me next quarter" into a polite follow-up plan email for lead 13
polish: "hey just bumping this, any thoughts on the proposal??"
come up with 3 questions to qualify budget with Vandelay without sounding pushy
draft a two-line follow-up to the webinar attendees from Umbrella
is this a good time to send lead 5 the pricing? they asked last week
fix the grammar in this note before I save it: "they was interested but need time, call back in 2 week"
"""

SR_BDR_COMPLEX += """
What should I do about Globex? They love the demo but keep saying "next quarter" and it's been three quarters
I'm 40% to quota with a month left. Which leads do I push, what do I offer, and what do I drop?
If Hooli, Initech and Stark all want demos the same week and I can only do two, which two and why?
Explain why our conversion from MQL to meeting fell this quarter and what we should change in outreach
help me think through a plan to win back the accounts we lost to the competitor last year
how do we sell to Umbrella when their procurement says we're too small to be a vendor?
"""

PIPELINE_SIMPLE += """
Can you show me the deals in proposal?
show me the email thread on deal 4
what's the discount on the Globex quote?
list deals with a mutual action plan
pull up the QBR analysis for deal 8
what's the forecast category for deal 12?
can you move deal 15 to closed won
Who's the economic buyer on deal 6?
how many deals have a close date this week
show me the deals Jordan updated today
what's the total of closed lost this quarter?
set deal 20's stage to proposal
list every deal above 200k
which deals have a competitor listed?
how old is deal 3?
"""

PIPELINE_MEDIUM += """
Can you explain why the Hooli deal dropped to best case?
Draft a note to the Initech champion asking what legal still needs
what's the single biggest risk on deal 9, in one sentence?
rewrite the deal description for Stark so it fits in the forecast sheet
should deal 4 be commit or best case?
summarize the email thread on deal 12
write a short congrats message to the team for closing Acme
is a 3-week slip on deal 7 worth flagging to the VP?
give me a crisp one-liner on where Globex stands
help me reply to Soylent asking for the quote in euros
turn these call notes into the next-step field: legal done, waiting on PO, CFO signs Friday
what does the at-risk flag on deal 16 mean?
draft the agenda for tomorrow's negotiation call with Wonka
explain in two lines why deal 2 is stuck in proposal
reword my update so it doesn't sound like an excuse: "deal slipped because customer was slow"
"""

PIPELINE_COMPLEX += """
What should we do with the Globex deal? They want 25% off, the quarter ends Friday, and the CRO hates discounting
we lost 4 of our last 5 deals to the same competitor. What's going on and how do we respond?
which deals should I pull into this quarter and which should I push to next, given our capacity to implement?
the VP asked me to explain why pipeline coverage looks fine but we keep missing. put together the answer with what we change
Initech's legal is stuck, their champion is on leave, and the CFO wants a smaller first phase. what's the path to closing this month?
If we lose Hooli, how do we still make the number? Show me the options
"""

CS_SIMPLE += """
Can you show the checklist for Globex?
show me the email Hooli sent about SSO
is there a renewal plan on file for Stark?
what's the churn score for Initech
list the accounts onboarded this month
mark Vandelay's go-live as done
when was the last QBR with TechCorp?
who is the admin at Soylent?
add a note to Aperture: training rescheduled to the 3rd
which accounts use the API?
show the escalation history for Umbrella
how many onboarding steps does Wonka have left?
what's Cyberdyne's health today?
did Oscorp finish admin training?
show the account plan for Nakatomi
"""

CS_MEDIUM += """
Can you explain why Hooli's health dropped this month?
draft a renewal heads-up for Stark, 60 days out
what would you say to Initech's admin who hasn't logged in for three weeks?
summarize the escalation history on Umbrella for my manager
is Globex a good candidate for the beta program?
rewrite the onboarding welcome so it sounds less like a legal notice
Write a check-in for TechCorp that mentions the new dashboard
give me 3 ideas for the opening of the Wonka QBR
polish this before I send it to Aperture: "just wanted to check if u had time for training next wk"
should I offer Soylent an extra training session, given they're behind on onboarding?
draft a reply to Cyberdyne asking for an invoice copy
explain the onboarding checklist to Vandelay's new admin in simple terms
turn Oscorp's feedback into a short note for the product team
is Acme's renewal safe or should I worry?
write a short thank-you to Hooli's admin for the feedback session
"""

CS_COMPLEX += """
What should we do about Hooli? Usage is down, their sponsor is new, renewal is in 60 days and they want a discount
our three biggest accounts all have open escalations. how do I triage them and what do I tell each exec?
Explain why accounts onboarded by partners have lower health, and what we should change in the partner program
work out whether we can save Massive Dynamic and what it would cost us, versus letting them go
Stark, Globex and Wonka all want a custom dashboard. build a plan that keeps all three without blowing up the roadmap
I have to present retention risk to the board next week. what are our biggest risks and what's the plan for each?
"""

PASTED += [
    (
        "sr_bdr",
        "simple",
        """which of these leads is in fintech?

Hooli - payments platform - 800 employees
Globex - industrial supplies - 2,300 employees
Initech - software consultancy - 150 employees""",
    ),
    (
        "sr_bdr",
        "medium",
        """Hi! can you shorten this, it's too long:

Hi Priya, I hope you had a great weekend. I wanted to follow up on our conversation from last
Tuesday, where we discussed your team's challenges with forecasting and the manual work your
reps do every Friday. As I mentioned, we've helped similar companies reduce that work by more
than half. I'd love to set up a 30-minute demo with you and your team leads. Would any time
next week work for you? Looking forward to hearing from you.""",
    ),
    (
        "sr_bdr",
        "complex",
        """Lead: Massive Dynamic (lead 27), 1,200 employees, biotech
History: churned from us in 2024 after 1 year (reason: adoption, only 30% of seats used)
New info: new CRO (ex-Hooli, was our customer there and liked us), they're hiring 40 reps,
current tool is a competitor, contract ends in 5 months

How should we approach them this time, who first, and what do we do differently so it doesn't
happen again?""",
    ),
    (
        "pipeline_manager",
        "simple",
        """set the amount on deal 9 to what's in this quote:

Quote Q-2291 for Globex
Platform, 40 seats x 12 months ........ 96,000
Onboarding package ..................... 8,000
Total .................................. 104,000""",
    ),
    (
        "pipeline_manager",
        "medium",
        """translate this into Spanish for the Madrid team:

Update on the Soylent deal: they accepted the proposal, legal review starts Monday, and we
expect signature before the end of the month. The only open question is the payment terms.""",
    ),
    (
        "pipeline_manager",
        "complex",
        """Here's what the three reps said about their deals in negotiation:

Priya: "Globex is solid, they just need the CFO to sign, maybe this week, maybe next."
Jordan: "Initech wants another 10% off or they'll go with the cheaper option."
Dana: "Wonka's legal is slow but the champion swears it closes this month."

Which of these do I believe, what's the real risk in each, and what should each rep do next?""",
    ),
    (
        "customer_success",
        "simple",
        """mark these done for Globex: SSO setup, data import

(from Lars: "both finished yesterday, all users can log in")""",
    ),
    (
        "customer_success",
        "medium",
        """recap this for the account record, 3 bullets max:

Call with Hooli admin (Raj), 30 min. Adoption is good in sales, poor in finance. Finance says
the reports don't match their spreadsheets. Raj wants a session with our solutions engineer.
He also mentioned that their renewal budget is being reviewed but didn't seem worried.""",
    ),
    (
        "customer_success",
        "complex",
        """Notes from the last 3 months with Initech:
- Oct: kickoff, IT owner assigned (Mark)
- Nov: Mark left, no replacement; data import stalled
- Dec: sponsor (Hannah) asked for a pause "until things settle"
- Jan: 5 of 60 seats active; invoice for year 2 due in April

What's going on, is this account savable, and what exactly should we do in the next 60 days?""",
    ),
]

# A third pass: the plain-spoken analysis asks (short ones too), asks that chain a draft onto
# an analysis (complex as a whole), and "give me" lookups.
SR_BDR_SIMPLE += """
Give me the phone number for Initech
give me the list of leads from the webinar
give me Hooli's address
Give me lead 14's score and tier
give me all leads owned by Dana
"""

SR_BDR_MEDIUM += """
Outline a short discovery call agenda for lead 6
describe Globex's business in two sentences for my intro
compare lead 4 and lead 9's fit in a sentence each
Outline the key points to cover in my follow-up to Stark
Explain the difference between a warm and a hot lead to a new BDR
"""

SR_BDR_COMPLEX += """
Analyze my pipeline of leads and recommend where to focus
Assess our outbound strategy for fintech
Evaluate lead 12's account and recommend a strategy to get in
Prioritize my hot leads and draft a first touch for each one
Analyze why lead 4 went cold, then draft a re-engagement email based on that
Review leads 3, 8 and 11, rank them, and write an opener for the top one
Compare our top five target accounts and tell me which to go after first
Diagnose our low reply rates
forecast how many meetings my current leads will produce this month and where the gaps are
recommend an outreach strategy for the healthcare segment
"""

PIPELINE_SIMPLE += """
Give me the amount on deal 4
give me the deals closing this week
give me a count of deals per stage
"""

PIPELINE_MEDIUM += """
Outline the next steps for deal 8
Compare the Acme and Globex deals in two lines each
describe where deal 15 stands for the forecast notes
Explain what the stage probabilities mean
"""

PIPELINE_COMPLEX += """
Analyze this deal's blockers and recommend strategy
Analyze the Q3 pipeline, identify the top risks, and recommend a plan to hit quota
Compare win rates across regions, explain why EMEA dropped, then propose three fixes
Review the Acme, Globex, Initech and Hooli deals; prioritize them by risk and draft next steps for each
Forecast next quarter's revenue from the current pipeline and assess which deals are at risk
First analyze the call transcript for objections, then draft a negotiation plan
Evaluate deal 9 and recommend how to close it
Assess the risk in our commit deals
Prioritize the stalled deals and draft a nudge for each owner
Analyse the pipeline
"""

CS_SIMPLE += """
Give me the renewal date for Acme
give me the accounts with open tickets
give me Stark's health score
"""

CS_MEDIUM += """
Outline the onboarding steps for a new customer
describe the Acme account in three lines for my manager
Explain what the onboarding checklist covers, briefly
compare Hooli's health this month with last month in a sentence
"""

CS_COMPLEX += """
Evaluate the churn risk for our top 10 customers and recommend a retention strategy for each segment
Analyze Globex's account health and recommend a renewal strategy
Assess our onboarding process and recommend improvements
Prioritize the at-risk accounts and draft a check-in for each
Review Hooli, Initech and Stark's health, rank the risks, and write the plan for the worst one
Diagnose why Oscorp's usage dropped
Analyze our renewals for next quarter
forecast renewal revenue for next quarter and flag the risky accounts
"""
